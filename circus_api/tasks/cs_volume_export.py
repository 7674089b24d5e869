"""The `Export DICOM data` task (spec 4.5 #19, 5.5): the CS volume layout of each requested
series, `<i>.mhd`, `<i>.raw` and `<i>.json`, packed into one tar.gz or zip download.

Each volume is written by `imaging.cs_volume.write_cs_volume` (the same layout a CAD plug-in
receives) into a scratch folder next to the download, streamed into the archive and deleted
before the next one: memory stays near one slice, scratch disk near one volume. The archive is
built under a temporary name and renamed to `<download dir>/<taskId>` only when complete, so a
download never sees half an archive.
"""

from __future__ import annotations

import logging
import os
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import anyio.to_thread

from circus_api.imaging.cs_volume import write_cs_volume
from circus_api.imaging.errors import ImagingError
from circus_api.tasks.progress import TaskFailure, TaskReporter

log = logging.getLogger(__name__)

TASK_NAME = "Export DICOM data"
DOWNLOAD_TYPES = {"tgz": "application/x-tgz", "zip": "application/zip"}
FINISH_MESSAGE = "exported"
# the layout of one volume, in archive order
MEMBER_SUFFIXES = ("mhd", "raw", "json")


class Archive(Protocol):
    def add(self, source: Path, name: str) -> None: ...

    def close(self) -> None: ...


class TarGzArchive:
    def __init__(self, path: Path) -> None:
        # level 6: nearly the size of 9 at a fraction of the time on large raw volumes;
        # closed by close() (open and close run in worker threads, so no `with` here)
        self._tar = tarfile.open(path, "w:gz", compresslevel=6)  # noqa: SIM115

    def add(self, source: Path, name: str) -> None:
        # a clean header: no owner names or scratch-file permissions in the download
        info = tarfile.TarInfo(name)
        info.size = source.stat().st_size
        info.mtime = int(time.time())
        info.mode = 0o644
        with open(source, "rb") as stream:
            self._tar.addfile(info, stream)  # copied in chunks

    def close(self) -> None:
        self._tar.close()


class ZipArchive:
    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)

    def add(self, source: Path, name: str) -> None:
        self._zip.write(source, name)  # copied in chunks; zip64 when a volume exceeds 2 GiB

    def close(self) -> None:
        self._zip.close()


def open_archive(path: Path, compression_format: str) -> Archive:
    if compression_format == "zip":
        return ZipArchive(path)
    return TarGzArchive(path)


def add_volume(
    archive: Archive, dicom_dir: Path, entry: Mapping[str, Any], index: int, scratch: Path
) -> None:
    """Write volume `index` into `scratch`, move its three files into the archive (blocking)."""
    write_cs_volume(dicom_dir, entry["seriesUid"], entry["partialVolumeDescriptor"], scratch, index)
    for suffix in MEMBER_SUFFIXES:
        member = scratch / f"{index}.{suffix}"
        archive.add(member, member.name)
        member.unlink()


async def run(
    reporter: TaskReporter, dicom_dir: Path, entries: Sequence[Mapping[str, Any]], compression_format: str
) -> None:
    target = reporter.download_path
    partial = target.with_name(f".{reporter.task_id}.partial")
    total = len(entries)
    try:
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{reporter.task_id}.") as scratch:
            archive = await anyio.to_thread.run_sync(open_archive, partial, compression_format)
            try:
                for index, entry in enumerate(entries):
                    await reporter.progress(f"Processing volume #{index + 1}", index, total)
                    try:
                        await anyio.to_thread.run_sync(add_volume, archive, dicom_dir, entry, index, Path(scratch))
                    except ImagingError as exc:
                        log.warning("volume not exported", extra={"task_id": reporter.task_id, "index": index,
                                                                  "series_uid": entry["seriesUid"]})
                        raise TaskFailure(f"Volume #{index + 1} could not be exported: {exc}") from exc
            finally:
                await anyio.to_thread.run_sync(archive.close)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    await reporter.finish(FINISH_MESSAGE)
