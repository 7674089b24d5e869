"""The live view of one plug-in job: its status, progress and log lines as they happen.

The job manager stores events in `pluginJobEvents` (job_manager/events.py); this module turns
them into a stream for `GET /api/plugin-jobs/:jobId/events`:

1. a snapshot first, so a client that connects late knows where the job stands: a `status`
   event `{jobId, status, errorMessage?, startedAt?, finishedAt?}` and, while the job runs, its
   latest `progress` event `{progress, message}`;
2. then every new event, found by polling by `seq` (works on MongoDB and SecantusDB alike):
   `status`, `progress`, `log` (`{lines: [...]}`);
3. the stream ends after a terminal status (finished, failed, cancelled, invalidated).

Status changes made without an event (cancel and invalidate through the API, or an event that
was lost) are taken from the job document once it has differed from what was sent for
`divergence_grace` seconds; the grace exists because the manager writes the document a moment
before the matching event, and the event is preferred since later events follow it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_jobs
from job_manager import events

TERMINAL = frozenset({"finished", "failed", "cancelled", "invalidated"})
POLL_INTERVAL_S = 0.3
DIVERGENCE_GRACE_S = 1.0
BATCH = 500


@dataclass(frozen=True)
class JobEvent:
    kind: str  # status | progress | log
    data: dict[str, Any]
    seq: int | None = None  # None for the snapshot, which is not a stored event


def status_payload(job_id: str, status: str, error_message: Any, job: dict[str, Any] | None) -> dict[str, Any]:
    """`{jobId, status, errorMessage?, startedAt?, finishedAt?}`; the dates come from the job
    document when it is in that same status (events carry none)."""
    payload: dict[str, Any] = {"jobId": job_id, "status": status}
    if error_message is not None:
        payload["errorMessage"] = error_message
    if job is not None and job.get("status") == status:
        for key in ("startedAt", "finishedAt"):
            if job.get(key) is not None:
                payload[key] = job[key]
    return payload


def _from_document(job: dict[str, Any]) -> JobEvent:
    return JobEvent("status", status_payload(job["jobId"], job["status"], job.get("errorMessage"), job))


async def open_stream(
    db: AsyncDatabase,
    job_id: str,
    *,
    poll_interval: float = POLL_INTERVAL_S,
    divergence_grace: float = DIVERGENCE_GRACE_S,
) -> AsyncGenerator[JobEvent, None]:
    """Take the snapshot now (so the caller answers with the current state), then return the
    iterator of the whole stream."""
    # the seq is read before the document: an event written in between is relayed, not lost
    seq = await events.last_seq(db, job_id)
    job = await plugin_jobs.find_status(db, job_id)
    snapshot: list[JobEvent] = []
    if job is not None:
        snapshot.append(_from_document(job))
        if job["status"] == "processing":
            progress = await events.latest_event(db, job_id, "progress", up_to_seq=seq)
            last_status = await events.latest_event(db, job_id, "status", up_to_seq=seq)
            # only progress of the current run, i.e. after the latest status change
            if progress is not None and (last_status is None or progress["seq"] > last_status["seq"]):
                snapshot.append(JobEvent("progress", progress["data"], progress["seq"]))
    return _follow(db, job_id, job, seq, snapshot, poll_interval, divergence_grace)


async def _follow(
    db: AsyncDatabase,
    job_id: str,
    job: dict[str, Any] | None,
    seq: int,
    snapshot: list[JobEvent],
    poll_interval: float,
    divergence_grace: float,
) -> AsyncGenerator[JobEvent, None]:
    for event in snapshot:
        yield event
    if job is None or job["status"] in TERMINAL:
        return
    sent = job["status"]
    diverged_since: float | None = None
    while True:
        batch = await events.events_since(db, job_id, seq, limit=BATCH)
        job = await plugin_jobs.find_status(db, job_id)
        for stored in batch:
            seq = stored["seq"]
            data = stored.get("data") or {}
            if stored["kind"] != "status":
                yield JobEvent(stored["kind"], data, seq)
                continue
            status = data.get("status")
            if not isinstance(status, str) or status == sent:
                continue  # malformed, or already told (by the snapshot, or from the document)
            sent = status
            yield JobEvent("status", status_payload(job_id, status, data.get("errorMessage"), job), seq)
            if sent in TERMINAL:
                return
        if job is None:
            return  # deleted: nothing more will come
        if job["status"] == sent:
            diverged_since = None
        elif diverged_since is None:
            diverged_since = time.monotonic()
        elif time.monotonic() - diverged_since >= divergence_grace:
            sent = job["status"]
            diverged_since = None
            yield _from_document(job)
            if sent in TERMINAL:
                return
        if len(batch) < BATCH:
            await asyncio.sleep(poll_interval)
