"""The `pluginJobs` collection (spec 6.7), keyed by `jobId`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "pluginJobs"


async def find(db: AsyncDatabase, job_id: str, session: AsyncClientSession | None = None) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"jobId": job_id}, NO_ID, session=session)


async def find_many(db: AsyncDatabase, job_ids: list[str]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"jobId": {"$in": job_ids}}, NO_ID).to_list()


async def insert(db: AsyncDatabase, job: dict[str, Any], session: AsyncClientSession | None = None) -> None:
    """Insert a new job document with `createdAt`/`updatedAt`."""
    await db[COLLECTION].insert_one(stamped(job), session=session)


async def find_with_series(
    db: AsyncDatabase,
    plugin_id: str,
    series_uid: str,
    excluded_statuses: list[str],
    session: AsyncClientSession | None = None,
) -> list[dict[str, Any]]:
    """Jobs of the plug-in that list the series and whose status is not excluded: the candidates
    of a duplicate check (the caller compares the series lists).

    One UID only: SecantusDB matches nothing for `$all` with several values on a path through
    an array of sub-documents."""
    query = {"pluginId": plugin_id, "status": {"$nin": excluded_statuses}, "series.seriesUid": series_uid}
    return await db[COLLECTION].find(query, {"_id": 0, "jobId": 1, "series": 1}, session=session).to_list()


async def change_status(
    db: AsyncDatabase, job_id: str, from_status: str, to_status: str, session: AsyncClientSession | None = None
) -> bool:
    """An API status change (cancel, invalidate): only from `from_status`, bumping `updatedAt`."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "status": from_status},
        {"$set": {"status": to_status, "updatedAt": utcnow()}},
        session=session,
    )
    return result.matched_count == 1


async def references_series(db: AsyncDatabase, series_uid: str, session: AsyncClientSession | None = None) -> bool:
    """Whether any plug-in job, whatever its status, lists the series."""
    found = await db[COLLECTION].find_one({"series.seriesUid": series_uid}, {"_id": 1}, session=session)
    return found is not None


# Status writes of the job manager (spec 5.7): by `jobId`, no upsert, never `updatedAt`. Each only
# applies while the job is still queued or running, so a late write cannot undo a cancel.
_ACTIVE = {"$in": ["in_queue", "processing"]}


async def mark_processing(db: AsyncDatabase, job_id: str, started_at: dt.datetime) -> bool:
    """`processing` + `startedAt`; a retried job also loses the results and error of before."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "status": _ACTIVE},
        {"$set": {"status": "processing", "startedAt": started_at, "results": None, "errorMessage": None}},
    )
    return result.matched_count == 1


async def mark_finished(db: AsyncDatabase, job_id: str, results: dict[str, Any], finished_at: dt.datetime) -> bool:
    """`finished` with the whole parsed results.json and `finishedAt`, in one write."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "status": _ACTIVE},
        {"$set": {"status": "finished", "results": results, "finishedAt": finished_at}},
    )
    return result.matched_count == 1


async def mark_failed(db: AsyncDatabase, job_id: str, error_message: str) -> bool:
    """`failed` + `errorMessage`; `finishedAt` stays null as in CIRCUS."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "status": _ACTIVE},
        {"$set": {"status": "failed", "errorMessage": error_message}},
    )
    return result.matched_count == 1


async def mark_requeued(db: AsyncDatabase, job_id: str) -> bool:
    """Back to `in_queue` when a manager hands a running job back to the queue (shutdown,
    Docker engine lost), so the job can be cancelled again until another manager claims it."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "status": "processing"},
        {"$set": {"status": "in_queue", "startedAt": None}},
    )
    return result.matched_count == 1


# ---- what the API reads and writes besides the job manager -----------------------------------

_STATUS_FIELDS = {"_id": 0, "jobId": 1, "status": 1, "errorMessage": 1, "startedAt": 1, "finishedAt": 1}


async def find_status(db: AsyncDatabase, job_id: str) -> dict[str, Any] | None:
    """Only `jobId`, `status`, `errorMessage`, `startedAt`, `finishedAt` (polled by the event stream)."""
    return await db[COLLECTION].find_one({"jobId": job_id}, _STATUS_FIELDS)


async def find_feedbacks(
    db: AsyncDatabase, job_id: str, session: AsyncClientSession | None = None
) -> list[dict[str, Any]] | None:
    """The job's feedback entries, or None when the job does not exist."""
    job = await db[COLLECTION].find_one({"jobId": job_id}, {"_id": 0, "feedbacks": 1}, session=session)
    return None if job is None else list(job.get("feedbacks") or [])


async def push_feedback(db: AsyncDatabase, job_id: str, entry: dict[str, Any], now: dt.datetime) -> bool:
    """Append a feedback entry only while the rules of spec 5.7 allow it, in one atomic update:
    no consensual entry yet and, for a personal entry, none by the same user. Two concurrent
    submissions cannot both pass a read-then-write check this way. False when refused."""
    conditions: dict[str, Any] = {"jobId": job_id, "feedbacks.isConsensual": {"$ne": True}}
    if not entry["isConsensual"]:
        conditions["feedbacks"] = {
            "$not": {"$elemMatch": {"userEmail": entry["userEmail"], "isConsensual": False}}
        }
    result = await db[COLLECTION].update_one(
        conditions, {"$push": {"feedbacks": entry}, "$set": {"updatedAt": now}}
    )
    return result.matched_count == 1


async def pull_feedback(
    db: AsyncDatabase, job_id: str, feedback_id: str | None, now: dt.datetime, session: AsyncClientSession
) -> None:
    """Remove one entry by `feedbackId`, or every entry when `feedback_id` is None."""
    change: dict[str, Any] = (
        {"$set": {"feedbacks": [], "updatedAt": now}} if feedback_id is None
        else {"$pull": {"feedbacks": {"feedbackId": feedback_id}}, "$set": {"updatedAt": now}}
    )
    await db[COLLECTION].update_one({"jobId": job_id}, change, session=session)
