"""The working folder of a job, `<work dir>/<jobId>/{in,out}`, and the plug-in's input files.

For the series at index i of the job: `i.mhd`, `i.raw`, `i.json`, flat in `in/`, written by the
shared volume module (`circus_api.imaging.cs_volume.write_cs_volume`, the same layout as the CS
volume export). `requiredPrivateTags` is honoured (CIRCUS ignores it): the private tags it lists
(`x01f11001`, `01f1,1001` or `01f11001`, separated by commas or spaces) are kept in `i.json`.

Permissions: the job folder is the manager's alone (0700; Docker bind-mounts by path, no
traversal needed), `in/` and its files are world-readable (0555 / 0444) because the container
runs as another uid, `out/` is made writable for that uid by the runner.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from circus_api.imaging.cs_volume import write_cs_volume
from circus_api.imaging.errors import ImagingError
from job_manager.errors import JobError

JOB_ID_PATTERN = re.compile(r"^[a-zA-Z0-9.]+$")  # CS Core's rule (spec 2.4)
_PRIVATE_TAG = re.compile(r"(?<![0-9a-f])x?([0-9a-f]{4}),?([0-9a-f]{4})(?![0-9a-f])")


@dataclass(frozen=True)
class JobFolder:
    root: Path
    in_dir: Path
    out_dir: Path


def valid_job_id(job_id: str) -> bool:
    """A job id that is safe as a folder name (CS Core's pattern, minus `.` and `..`)."""
    return bool(JOB_ID_PATTERN.match(job_id)) and set(job_id) != {"."}


def job_folder(work_dir: Path, job_id: str) -> JobFolder:
    if not valid_job_id(job_id):
        raise JobError(f"Invalid Job ID format: {job_id!r}.")
    root = work_dir / job_id
    return JobFolder(root, root / "in", root / "out")


def prepare_folder(work_dir: Path, job_id: str) -> JobFolder:
    """A fresh, empty working folder (a leftover of an earlier attempt is removed first)."""
    folder = job_folder(work_dir, job_id)
    remove_tree(folder.root)
    work_dir.mkdir(parents=True, exist_ok=True)
    folder.root.mkdir(mode=0o700)
    folder.in_dir.mkdir()
    folder.out_dir.mkdir()
    return folder


def remove_tree(path: Path) -> None:
    """Delete a folder whatever its permissions (results are 0444/0555, plug-in output foreign)."""
    if not os.path.lexists(path):
        return
    if path.is_symlink() or not path.is_dir():
        path.unlink()
        return

    def make_writable_and_retry(function: Any, failed: str, _exc_info: object) -> None:
        parent = os.path.dirname(failed)
        os.chmod(parent, stat.S_IRWXU)
        if os.path.isdir(failed) and not os.path.islink(failed):
            os.chmod(failed, stat.S_IRWXU)
        function(failed)

    for directory, _subdirs, _files in os.walk(path):  # let rmtree into every folder first
        os.chmod(directory, stat.S_IRWXU)
    shutil.rmtree(path, onerror=make_writable_and_retry)


def parse_private_tags(value: object) -> set[str]:
    """`requiredPrivateTags` as a set of `gggg,eeee` keys; unknown shapes are ignored."""
    if not isinstance(value, str):
        return set()
    return {f"{group},{element}" for group, element in _PRIVATE_TAG.findall(value.lower())}


def _is_private(key: str) -> bool:
    return int(key[:4], 16) % 2 == 1


def keep_private_tags(obj: Any, wanted: set[str]) -> Any:
    """Drop every private key not in `wanted`, at every nesting level of a CS volume JSON."""
    if isinstance(obj, dict):
        return {
            key: keep_private_tags(value, wanted)
            for key, value in obj.items()
            if not (len(key) == 9 and key[4] == "," and _is_private(key)) or key in wanted
        }
    if isinstance(obj, list):
        return [keep_private_tags(item, wanted) for item in obj]
    return obj


def write_inputs(dicom_dir: Path, series: Sequence[Mapping[str, Any]], in_dir: Path) -> list[str]:
    """Write the triple of every series; returns the file names written (blocking: run in a thread)."""
    names: list[str] = []
    for index, entry in enumerate(series):
        series_uid = str(entry.get("seriesUid", ""))
        pvd = entry.get("partialVolumeDescriptor")
        wanted = parse_private_tags(entry.get("requiredPrivateTags"))
        if not isinstance(pvd, Mapping):
            raise JobError(f"Series {series_uid} has no partial volume descriptor.")
        try:
            write_cs_volume(dicom_dir, series_uid, pvd, in_dir, index, include_private=bool(wanted))
        except ImagingError as exc:
            raise JobError(f"Could not build the input volume of series {series_uid}: {exc}") from exc
        except OSError as exc:
            raise JobError(f"Could not build the input volume of series {series_uid}: {exc.strerror or exc}") from exc
        if wanted:
            path = in_dir / f"{index}.json"
            path.write_text(json.dumps(keep_private_tags(json.loads(path.read_text("utf-8")), wanted)), "utf-8")
        names += [f"{index}.mhd", f"{index}.raw", f"{index}.json"]
    for name in names:
        os.chmod(in_dir / name, 0o444)
    os.chmod(in_dir, 0o555)
    return names


async def build_inputs(
    dicom_dir: Path, work_dir: Path, job_id: str, series: Sequence[Mapping[str, Any]]
) -> tuple[JobFolder, list[str]]:
    """The working folder with `in/` filled (and the names written), built in a worker thread."""

    def build() -> tuple[JobFolder, list[str]]:
        folder = prepare_folder(work_dir, job_id)
        return folder, write_inputs(dicom_dir, series, folder.in_dir)

    return await anyio.to_thread.run_sync(build)


async def remove_folder(work_dir: Path, job_id: str) -> None:
    if valid_job_id(job_id):  # an invalid id never got a folder
        await anyio.to_thread.run_sync(remove_tree, job_folder(work_dir, job_id).root)
