"""The quarantine: uploaded files the importer refused, kept so that nothing sent is lost.

Layout: `<quarantine_dir>/<ulid>/original` (the bytes as sent) and `meta.json` (who, where, what,
why, when). An item is assembled in a dot-prefixed folder and renamed into place, so a listing
never sees half of one. Admins list the metadata (`GET /admin/quarantine`); the files stay on
disk for an operator to inspect or re-import by hand.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread

from circus_api.db.ids import new_ulid
from circus_api.wire import iso_date

log = logging.getLogger(__name__)

META_FILE = "meta.json"
ORIGINAL_FILE = "original"


@dataclass(frozen=True)
class Rejection:
    """One entry the importer refused: a file, or a member of an archive (`archive/member`)."""

    name: str
    reason: str


@dataclass(frozen=True)
class Uploader:
    """Who sent the file and for which domain (and task, for uploads through the API)."""

    user: str
    domain: str
    task_id: str | None = None


async def keep(
    quarantine_dir: Path,
    source: Path,
    original_name: str,
    rejections: Sequence[Rejection],
    uploader: Uploader,
    move: bool,
) -> str:
    """Put `source` into quarantine and return the item's ID.

    `move` takes a staged upload over by a rename; a file the caller still owns (the CLI's
    input) is copied.
    """
    return await anyio.to_thread.run_sync(
        _keep_sync, quarantine_dir, source, original_name, list(rejections), uploader, move
    )


def _keep_sync(
    quarantine_dir: Path,
    source: Path,
    original_name: str,
    rejections: list[Rejection],
    uploader: Uploader,
    move: bool,
) -> str:
    item_id = new_ulid()
    partial = quarantine_dir / f".{item_id}.partial"
    partial.mkdir(parents=True)
    try:
        target = partial / ORIGINAL_FILE
        if move:
            shutil.move(source, target)
        else:
            shutil.copyfile(source, target)
        meta = {
            "quarantineId": item_id,
            "uploader": uploader.user,
            "domain": uploader.domain,
            "taskId": uploader.task_id,
            "originalName": original_name,
            "size": target.stat().st_size,
            "reason": summarize(rejections),
            "rejectedEntries": [{"name": r.name, "reason": r.reason} for r in rejections],
            "time": iso_date(dt.datetime.now(dt.UTC)),
        }
        (partial / META_FILE).write_text(json.dumps(meta, ensure_ascii=False, indent=1))
        os.replace(partial, quarantine_dir / item_id)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    log.info("upload quarantined", extra={"quarantine_id": item_id, "task_id": uploader.task_id})
    return item_id


def summarize(rejections: Sequence[Rejection]) -> str:
    if len(rejections) == 1:
        return rejections[0].reason
    return f"{len(rejections)} entries rejected; first: {rejections[0].name}: {rejections[0].reason}"


async def list_items(quarantine_dir: Path, limit: int, page: int) -> dict[str, Any]:
    """One page of item metadata, newest first, as `{items, totalItems, page}` (spec 3.1 paging)."""
    return await anyio.to_thread.run_sync(_list_sync, quarantine_dir, limit, page)


def _list_sync(quarantine_dir: Path, limit: int, page: int) -> dict[str, Any]:
    try:
        # ULIDs sort by creation time; dot-prefixed folders are items still being written
        ids = sorted((name for name in os.listdir(quarantine_dir) if not name.startswith(".")), reverse=True)
    except FileNotFoundError:
        ids = []
    start = limit * (page - 1)
    items = []
    for item_id in ids[start:start + limit]:
        try:
            items.append(json.loads((quarantine_dir / item_id / META_FILE).read_text()))
        except (OSError, ValueError):
            # a folder put there by hand or damaged: still listed, so it is not overlooked
            items.append({"quarantineId": item_id, "reason": "unreadable metadata"})
    return {"items": items, "totalItems": len(ids), "page": page}
