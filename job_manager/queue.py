"""The `pluginJobQueue` collection (spec 3, api.md 6.8), plus a lease so crashed managers lose jobs.

A row as CIRCUS keeps it: `{jobId, priority, payload, state: wait|processing, createdAt,
updatedAt, startedAt}`, plus

- `owner`: the id of the manager that claimed it (null while waiting),
- `leaseUntil`: the claim is valid until then; the owner's heartbeat pushes it forward,
- `attempts`: how many times the row was claimed (a clean hand-back does not count),
- `needsGpu`: whether the plug-in asked for GPUs when the job was queued (GPU slots are apart).

Claiming is one atomic `find_one_and_update`, so any number of managers on any number of machines
can share the queue. A row whose lease ran out (its manager died) is claimable again; once it has
been claimed `max_attempts` times, the next claim fails the job instead of running it again.
Leases compare the managers' clocks: keep them in sync (NTP) to well under the lease.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions, plugin_jobs
from circus_api.db.documents import NO_ID, utcnow
from job_manager import events

COLLECTION = "pluginJobQueue"
QUEUE_ORDER = [("priority", DESCENDING), ("_id", ASCENDING)]
ListState = Literal["wait", "processing", "all"]


def give_up_message(max_attempts: int) -> str:
    return f"The job manager running this job stopped {max_attempts} times; giving up."


def plugin_needs_gpu(plugin: dict[str, Any] | None) -> bool:
    run_configuration = (plugin or {}).get("runConfiguration") or {}
    return bool(str(run_configuration.get("gpus") or "").strip())


async def enqueue(
    db: AsyncDatabase,
    job_id: str,
    payload: dict[str, Any],
    priority: int = 0,
    session: AsyncClientSession | None = None,
) -> str:
    """Insert one `wait` row (in the caller's transaction when `session` is given); returns its id.

    A duplicate `jobId` raises pymongo's DuplicateKeyError (unique index), as in CIRCUS.
    """
    plugin = await db[plugin_definitions.COLLECTION].find_one(
        {"pluginId": payload.get("pluginId")}, {"runConfiguration": 1}, session=session
    )
    now = utcnow()
    row = {
        "jobId": job_id,
        "priority": priority,
        "payload": payload,
        "state": "wait",
        "createdAt": now,
        "updatedAt": now,
        "startedAt": None,
        "owner": None,
        "leaseUntil": None,
        "attempts": 0,
        "needsGpu": plugin_needs_gpu(plugin),
    }
    result = await db[COLLECTION].insert_one(row, session=session)
    return str(result.inserted_id)


async def claim(
    db: AsyncDatabase,
    manager_id: str,
    lease_s: float,
    gpu_ok: bool = False,
    *,
    gpu_only: bool = False,
    max_attempts: int | None = None,
) -> dict[str, Any] | None:
    """Atomically take the first claimable row in queue order, or None.

    Claimable: `wait`, or `processing` with an expired lease. `gpu_ok=False` skips rows that need
    a GPU; `gpu_only=True` takes only those (a free GPU slot). A row claimed more than
    `max_attempts` times fails its job (`give_up_message`) and is removed; the next one is tried.
    """
    while True:
        now = utcnow()
        claimable: dict[str, Any] = {
            "$or": [{"state": "wait"}, {"state": "processing", "leaseUntil": {"$lt": now}}]
        }
        if gpu_only:
            claimable["needsGpu"] = True
        elif not gpu_ok:
            claimable["needsGpu"] = {"$ne": True}
        row = await db[COLLECTION].find_one_and_update(
            claimable,
            {
                "$set": {
                    "state": "processing",
                    "startedAt": now,
                    "owner": manager_id,
                    "leaseUntil": now + dt.timedelta(seconds=lease_s),
                },
                "$inc": {"attempts": 1},
            },
            sort=QUEUE_ORDER,
            projection=NO_ID,
            return_document=ReturnDocument.AFTER,
        )
        if row is None:
            return None
        if max_attempts is not None and row.get("attempts", 1) > max_attempts:
            await _give_up(db, row["jobId"], manager_id, give_up_message(max_attempts))
            continue
        return row


async def _give_up(db: AsyncDatabase, job_id: str, manager_id: str, message: str) -> None:
    if await plugin_jobs.mark_failed(db, job_id, message):
        await events.add_event(db, job_id, "status", {"status": "failed", "errorMessage": message})
    await settle(db, job_id, manager_id)


async def heartbeat(db: AsyncDatabase, job_id: str, manager_id: str, lease_s: float) -> bool:
    """Extend the lease; False when the row is no longer this manager's (lost it: stop the job)."""
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "owner": manager_id, "state": "processing"},
        {"$set": {"leaseUntil": utcnow() + dt.timedelta(seconds=lease_s)}},
    )
    return result.matched_count == 1


async def settle(db: AsyncDatabase, job_id: str, manager_id: str) -> bool:
    """Remove the row of a job that ended (finished or failed), only by its owner."""
    result = await db[COLLECTION].delete_one({"jobId": job_id, "owner": manager_id, "state": "processing"})
    return result.deleted_count == 1


async def release(db: AsyncDatabase, job_id: str, manager_id: str, *, count_attempt: bool = False) -> bool:
    """Hand a claimed row back (`wait`, no owner) so another manager runs it.

    A clean hand-back (shutdown) does not use up an attempt; `count_attempt` keeps it counted
    (the Docker engine died under the job: retried, but not forever).
    """
    result = await db[COLLECTION].update_one(
        {"jobId": job_id, "owner": manager_id, "state": "processing"},
        {
            "$set": {"state": "wait", "owner": None, "leaseUntil": None, "startedAt": None},
            "$inc": {"attempts": 0 if count_attempt else -1},
        },
    )
    return result.matched_count == 1


async def remove_waiting(db: AsyncDatabase, job_id: str, session: AsyncClientSession | None = None) -> bool:
    """Cancel: delete the row only while it is still `wait`; whether one was deleted."""
    result = await db[COLLECTION].delete_one({"jobId": job_id, "state": "wait"}, session=session)
    return result.deleted_count == 1


def _state_filter(state: ListState) -> dict[str, Any]:
    return {} if state == "all" else {"state": state}


async def list_queue(
    db: AsyncDatabase, state: ListState = "wait", skip: int = 0, limit: int = 0
) -> list[dict[str, Any]]:
    """Rows in queue order (priority desc, then insertion order); CIRCUS's default state is `wait`."""
    cursor = db[COLLECTION].find(_state_filter(state), NO_ID).sort(QUEUE_ORDER).skip(skip)
    if limit:
        cursor = cursor.limit(limit)
    return await cursor.to_list()


async def count(db: AsyncDatabase, state: ListState = "wait") -> int:
    return await db[COLLECTION].count_documents(_state_filter(state))


async def list_for_user(
    db: AsyncDatabase, user_email: str, state: ListState = "wait", skip: int = 0, limit: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Rows in queue order whose job document names `user_email` as its registerer, and how many
    there are. Rows carry no e-mail (CIRCUS's user listing always came back empty), so the job
    document is joined (api.md 4.11 #51 Re-impl); rows without a job document are left out."""
    page: list[dict[str, Any]] = [{"$skip": skip}, *([{"$limit": limit}] if limit else [])]
    pipeline: list[dict[str, Any]] = [
        {"$match": _state_filter(state)},
        {"$sort": dict(QUEUE_ORDER)},
        {"$lookup": {"from": plugin_jobs.COLLECTION, "localField": "jobId", "foreignField": "jobId", "as": "job"}},
        {"$unwind": "$job"},
        {"$match": {"job.userEmail": user_email}},
        {"$project": {"_id": 0, "job": 0}},
        {"$facet": {"rows": page, "total": [{"$count": "count"}]}},
    ]
    result = await (await db[COLLECTION].aggregate(pipeline)).to_list()
    facet = result[0] if result else {"rows": [], "total": []}
    return facet["rows"], facet["total"][0]["count"] if facet["total"] else 0


async def find(db: AsyncDatabase, job_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"jobId": job_id}, NO_ID)
