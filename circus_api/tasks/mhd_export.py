"""MHD export (spec 4.6 #25, 5.4): the task body, and `write_archive`, the one function that writes
an export archive, shared by the task and `circus case export`.

The archive is written to a temporary name beside the destination and renamed when complete, so
a failed or interrupted export leaves nothing behind. Cases are loaded one at a time and their
volumes streamed slice by slice (in a thread), so memory stays near one slice plus the packed
label blobs of one case.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import BlobNotFound, BlobStore
from circus_api.db import clinical_cases
from circus_api.imaging.archives import ArchiveWriter, open_archive
from circus_api.imaging.mhd_archive import LINE_ENDINGS, MhdOptions, voxel_blob_hashes, write_case
from circus_api.tasks.progress import TaskReporter
from circus_api.wire import to_wire

log = logging.getLogger(__name__)

FAILURE_MESSAGE = "An internal error occurred while processing the case data."
COMPRESSION_FORMATS = ("tgz", "zip")
ARCHIVE_SUFFIXES = {"tgz": ".tar.gz", "zip": ".zip"}
DOWNLOAD_TYPES = {"tgz": "application/x-tgz", "zip": "application/zip"}

Progress = Callable[[str, int | None, int | None], Awaitable[None]]


class ExportError(Exception):
    """A case cannot be exported (unknown case, revision out of range, missing voxel data)."""


@dataclass(frozen=True)
class ExportItem:
    case_id: str
    revision_index: int | None = None  # None: the last revision


@dataclass(frozen=True)
class ExportRequest:
    items: tuple[ExportItem, ...]
    compression_format: str = "tgz"
    options: MhdOptions = field(default_factory=MhdOptions)

    def __post_init__(self) -> None:
        if self.compression_format not in COMPRESSION_FORMATS:
            raise ValueError(f"unknown compression format {self.compression_format!r}")

    def to_payload(self) -> dict[str, Any]:
        """The actor message: plain JSON, in the API's own vocabulary."""
        line_ending = next(k for k, v in LINE_ENDINGS.items() if v == self.options.line_ending)
        return {
            "items": [[item.case_id, item.revision_index] for item in self.items],
            "compressionFormat": self.compression_format,
            "labelPackType": self.options.label_pack_type,
            "mhdLineEnding": line_ending,
            "partialVolume": self.options.partial_volume,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> ExportRequest:
        options = MhdOptions(
            payload["labelPackType"], LINE_ENDINGS[payload["mhdLineEnding"]], bool(payload["partialVolume"])
        )
        items = tuple(ExportItem(case_id, index) for case_id, index in payload["items"])
        return cls(items, payload["compressionFormat"], options)


async def run(reporter: TaskReporter, db: AsyncDatabase, blobs: BlobStore, dicom_dir: Path,
              payload: Mapping[str, Any]) -> None:
    """The task: the archive becomes the task's download file."""
    request = ExportRequest.from_payload(payload)
    count = await write_archive(db, blobs, dicom_dir, request, reporter.download_path, reporter.progress)
    await reporter.finish(f"Exported {count} case(s).")


async def write_archive(
    db: AsyncDatabase,
    blobs: BlobStore,
    dicom_dir: Path,
    request: ExportRequest,
    destination: Path,
    progress: Progress | None = None,
) -> int:
    """Write the spec 5.4 archive of `request` to `destination`; returns the number of cases.

    Raises ExportError for a case that cannot be exported; then nothing is left at `destination`
    (nor at the temporary name).
    """
    partial = destination.with_name(f".{destination.name}.partial")
    total = len(request.items)
    writer: ArchiveWriter = await anyio.to_thread.run_sync(open_archive, partial, request.compression_format)
    try:
        for finished, item in enumerate(request.items):
            if progress is not None:
                await progress(f"Packing data for {item.case_id}", finished, total)
            case, revision = await _load(db, item)
            label_data = {h: await _read_blob(blobs, h, item.case_id) for h in sorted(voxel_blob_hashes(revision))}
            await anyio.to_thread.run_sync(
                write_case, writer, item.case_id, case_data_json(case, revision), revision, label_data, dicom_dir,
                request.options,
            )
        if progress is not None:
            await progress("Performing compression...", None, None)
        await anyio.to_thread.run_sync(writer.close)
        await anyio.to_thread.run_sync(partial.replace, destination)
    except BaseException:
        writer.abort()
        partial.unlink(missing_ok=True)
        raise
    return total


async def _load(db: AsyncDatabase, item: ExportItem) -> tuple[dict[str, Any], dict[str, Any]]:
    # the ID names the case's folder in the archive (and the CLI's file): never a path
    if item.case_id in ("", ".", "..") or any(c in item.case_id for c in "/\\\0"):
        raise ExportError(f"The case ID {item.case_id!r} cannot name an archive folder.")
    case = await clinical_cases.find(db, item.case_id)
    if case is None:
        raise ExportError(f"Case {item.case_id} does not exist.")
    revisions: Sequence[dict[str, Any]] = case.get("revisions") or []
    index = len(revisions) - 1 if item.revision_index is None else item.revision_index
    if not 0 <= index < len(revisions):
        raise ExportError(f"Case {item.case_id} has no revision {index}.")
    return case, revisions[index]


async def _read_blob(blobs: BlobStore, blob_hash: str, case_id: str) -> bytes:
    """A whole label blob (at most 20 MB by the upload limit; packed bits, 1/8 of the box)."""
    try:
        chunks = await blobs.open(blob_hash)
    except BlobNotFound:
        raise ExportError(f"The voxel data {blob_hash} of case {case_id} is missing.") from None
    return b"".join([chunk async for chunk in chunks])


def case_data_json(case: Mapping[str, Any], revision: Mapping[str, Any]) -> bytes:
    """`<caseId>/data.json`: indented with two spaces, dates as ISO strings, like JSON.stringify."""
    data = {
        "caseId": case["caseId"],
        "createdAt": case.get("createdAt"),
        "updatedAt": case.get("updatedAt"),
        "projectId": case.get("projectId"),
        "revision": revision,
    }
    # JSON.stringify leaves out undefined keys (legacy cases without timestamps)
    present = {key: value for key, value in data.items() if value is not None}
    return json.dumps(to_wire(present), indent=2, ensure_ascii=False).encode("utf-8")
