"""Job events for the API's SSE stream: collection `pluginJobEvents`.

One document per event: `{jobId, seq, kind, data, createdAt}` where `seq` increases by one per
job (unique index `jobId, seq`), `kind` is

- `status`:   `{"status": "processing" | "finished" | "failed" | "in_queue", "errorMessage"?}`
- `progress`: `{"progress": 0.0-1.0 | None, "message": str | None}` (at most one per 0.5 s per job)
- `log`:      `{"lines": [str, ...]}` (lines of plugin-log.txt, batched)

The API polls `events_since(db, job_id, seq)` and relays what it gets; a TTL index drops events
after 7 days. Writers on several processes may add events to one job: the next `seq` is found
from the last stored one and a duplicate key simply means "someone else took it, try the next".
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db.documents import NO_ID, utcnow

COLLECTION = "pluginJobEvents"
PROGRESS_INTERVAL_S = 0.5
Kind = Literal["status", "progress", "log"]


async def last_seq(db: AsyncDatabase, job_id: str) -> int:
    last = await db[COLLECTION].find_one({"jobId": job_id}, {"seq": 1}, sort=[("seq", DESCENDING)])
    return int(last["seq"]) if last else 0


async def add_event(db: AsyncDatabase, job_id: str, kind: Kind, data: dict[str, Any], *, seq_hint: int = 0) -> int:
    """Store one event; returns its `seq`. `seq_hint` (the writer's last seq) saves a lookup."""
    seq = seq_hint + 1 if seq_hint else await last_seq(db, job_id) + 1
    for _ in range(20):
        try:
            await db[COLLECTION].insert_one(
                {"jobId": job_id, "seq": seq, "kind": kind, "data": data, "createdAt": utcnow()}
            )
            return seq
        except DuplicateKeyError:
            seq = await last_seq(db, job_id) + 1
    raise RuntimeError(f"could not add an event to job {job_id}: too many concurrent writers")


async def events_since(db: AsyncDatabase, job_id: str, seq: int = 0, limit: int = 500) -> list[dict[str, Any]]:
    """The events of a job after `seq`, oldest first (`seq=0`: from the beginning)."""
    cursor = db[COLLECTION].find({"jobId": job_id, "seq": {"$gt": seq}}, NO_ID).sort("seq", ASCENDING)
    return await cursor.limit(limit).to_list()


async def latest_event(
    db: AsyncDatabase, job_id: str, kind: Kind, up_to_seq: int | None = None
) -> dict[str, Any] | None:
    """The newest event of one kind (at or before `up_to_seq` when given), e.g. the last progress."""
    query: dict[str, Any] = {"jobId": job_id, "kind": kind}
    if up_to_seq is not None:
        query["seq"] = {"$lte": up_to_seq}
    return await db[COLLECTION].find_one(query, NO_ID, sort=[("seq", DESCENDING)])


class JobEvents:
    """The event writer of one running job: remembers its seq, throttles progress."""

    def __init__(
        self, db: AsyncDatabase, job_id: str, *, progress_interval: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.db = db
        self.job_id = job_id
        self._seq = 0
        self._interval = progress_interval
        self._clock = clock
        self._last_progress_at: float | None = None
        self._pending_progress: dict[str, Any] | None = None

    async def _add(self, kind: Kind, data: dict[str, Any]) -> None:
        self._seq = await add_event(self.db, self.job_id, kind, data, seq_hint=self._seq)

    async def status(self, status: str, error_message: str | None = None) -> None:
        await self.flush()  # a progress event must not arrive after the final status
        data: dict[str, Any] = {"status": status}
        if error_message is not None:
            data["errorMessage"] = error_message
        await self._add("status", data)

    async def progress(self, progress: float | None, message: str | None) -> None:
        """Emit now, or keep it as the pending one when the last was less than the interval ago."""
        self._pending_progress = {"progress": progress, "message": message}
        now = self._clock()
        if self._last_progress_at is None or now - self._last_progress_at >= self._interval:
            await self.flush()

    async def log_lines(self, lines: list[str]) -> None:
        if lines:
            await self._add("log", {"lines": lines})

    async def flush(self, *, due_only: bool = False) -> None:
        """Emit the pending progress event, if any; with `due_only`, only once the interval is over
        (called periodically, and unconditionally before a status)."""
        if due_only and self._last_progress_at is not None and self._clock() - self._last_progress_at < self._interval:
            return
        if self._pending_progress is not None:
            data, self._pending_progress = self._pending_progress, None
            self._last_progress_at = self._clock()
            await self._add("progress", data)
