"""`POST /cases/export-mhd` (spec 4.6 #25): check the request, then hand the export to a worker.

Everything the caller can get wrong is refused here, before a task exists: unknown cases (400)
and cases of projects the caller cannot read (401). The archive itself is written by the task
(`circus_api.tasks.mhd_export`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import BlobStore
from circus_api.db import clinical_cases
from circus_api.errors import BadRequest, Unauthorized
from circus_api.imaging.mhd_archive import LINE_ENDINGS, MhdOptions
from circus_api.privileges import Privileges
from circus_api.services import tasks
from circus_api.tasks.mhd_export import (
    ARCHIVE_SUFFIXES,
    DOWNLOAD_TYPES,
    ExportItem,
    ExportRequest,
    write_archive,
)

# (task_id, actor payload) -> queued; the route passes the actor's `send`
Enqueue = Callable[[str, dict[str, Any]], Any]


def parse_request(body: Mapping[str, Any]) -> ExportRequest:
    """The validated body as an ExportRequest, with the spec's defaults."""
    items = []
    for entry in body["caseIds"]:
        if isinstance(entry, str):
            items.append(ExportItem(entry))
        else:
            items.append(ExportItem(entry["caseId"], entry.get("revisionIndex")))
    options = MhdOptions(
        label_pack_type=body.get("labelPackType", "isolated"),
        line_ending=LINE_ENDINGS[body.get("mhdLineEnding", "lf")],
        partial_volume=bool(body.get("partialVolume", False)),
    )
    return ExportRequest(_deduplicated(items), body.get("compressionFormat", "tgz"), options)


def _deduplicated(items: list[ExportItem]) -> tuple[ExportItem, ...]:
    """One entry per case (two would write the same archive paths): the first position, the
    last revision asked for, as if the later request overwrote the earlier one's files."""
    by_case: dict[str, ExportItem] = {}
    for item in items:
        by_case[item.case_id] = item
    return tuple(by_case.values())


async def start_mhd_export(
    db: AsyncDatabase,
    redis: aioredis.Redis | None,
    privileges: Privileges,
    user_email: str,
    body: Mapping[str, Any],
    enqueue: Enqueue,
) -> str:
    """Register the export task and queue it; returns the task ID."""
    request = parse_request(body)
    case_ids = [item.case_id for item in request.items]
    project_ids = await clinical_cases.project_ids_of(db, case_ids)
    if len(project_ids) != len(case_ids):
        raise BadRequest("Some cases do not exist.")
    if any("read" not in privileges.project_roles(project_id) for project_id in set(project_ids.values())):
        raise Unauthorized("You do not have enough read privilege for some cases.")
    requested = len(body["caseIds"])
    name = "Export a case as MHD" if requested == 1 else f"Export {requested} cases as MHD"
    payload = request.to_payload()
    return await tasks.register(
        db, redis, user_email, name, lambda task_id: enqueue(task_id, payload),
        DOWNLOAD_TYPES[request.compression_format],
    )


async def export_case_to_file(
    db: AsyncDatabase, blobs: BlobStore, dicom_dir: Path, case_id: str, label_pack_type: str,
    compression_format: str, out_dir: Path,
) -> Path:
    """`circus case export` (spec 8 export-case): one case, its last revision, LF headers, written
    to `<out_dir>/<caseId>.tar.gz` (or `.zip`) by the same function as the task."""
    request = ExportRequest((ExportItem(case_id),), compression_format, MhdOptions(label_pack_type, "\n"))
    destination = out_dir / f"{case_id}{ARCHIVE_SUFFIXES[compression_format]}"
    await write_archive(db, blobs, dicom_dir, request, destination)
    return destination
