"""The registry of running job managers, in collection `pluginJobManager` (next to the switch).

Each daemon upserts `{key: "manager:<id>", managerId, host, pid, startedAt, heartbeatAt, slots,
gpuSlots, runningJobs, dockerAvailable, dockerMessage, gpuRuntime}` every few seconds and deletes
it on a clean exit. `list_managers` is what `GET /api/admin/plugin-job-manager` shows; a manager
whose heartbeat is older than `STALE_AFTER_S` is reported `stale` (killed, or its machine is gone).
"""

from __future__ import annotations

import datetime as dt
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, utcnow
from job_manager.switch import COLLECTION

KEY_PREFIX = "manager:"
HEARTBEAT_INTERVAL_S = 5.0
STALE_AFTER_S = 20.0
FORGET_AFTER_S = 24 * 3600.0  # stale entries other managers delete


@dataclass
class ManagerState:
    """What a daemon reports about itself."""

    manager_id: str
    slots: int
    gpu_slots: int
    host: str = field(default_factory=socket.gethostname)
    pid: int = field(default_factory=os.getpid)
    started_at: dt.datetime = field(default_factory=utcnow)
    running_jobs: list[str] = field(default_factory=list)
    docker_available: bool = False
    docker_message: str = "Not checked yet."
    gpu_runtime: bool = False


async def report(db: AsyncDatabase, state: ManagerState) -> None:
    await db[COLLECTION].update_one(
        {"key": KEY_PREFIX + state.manager_id},
        {
            "$set": {
                "managerId": state.manager_id,
                "host": state.host,
                "pid": state.pid,
                "startedAt": state.started_at,
                "heartbeatAt": utcnow(),
                "slots": state.slots,
                "gpuSlots": state.gpu_slots,
                "runningJobs": list(state.running_jobs),
                "dockerAvailable": state.docker_available,
                "dockerMessage": state.docker_message,
                "gpuRuntime": state.gpu_runtime,
            }
        },
        upsert=True,
    )


async def remove(db: AsyncDatabase, manager_id: str) -> None:
    await db[COLLECTION].delete_one({"key": KEY_PREFIX + manager_id})


def is_stale(doc: dict[str, Any], now: dt.datetime | None = None, stale_after_s: float = STALE_AFTER_S) -> bool:
    heartbeat = doc.get("heartbeatAt")
    if not isinstance(heartbeat, dt.datetime):
        return True
    return ((now or utcnow()) - heartbeat).total_seconds() > stale_after_s


async def list_managers(db: AsyncDatabase, stale_after_s: float = STALE_AFTER_S) -> list[dict[str, Any]]:
    """Every registered manager, oldest first, each with `stale: bool` (no heartbeat lately)."""
    docs = await db[COLLECTION].find({"key": {"$regex": "^manager:"}}, NO_ID).sort("startedAt", ASCENDING).to_list()
    now = utcnow()
    out = []
    for doc in docs:
        doc.pop("key", None)
        doc["stale"] = is_stale(doc, now, stale_after_s)
        out.append(doc)
    return out


async def live_manager_ids(db: AsyncDatabase) -> set[str]:
    return {doc["managerId"] for doc in await list_managers(db) if not doc["stale"]}


async def forget_stale(db: AsyncDatabase, older_than_s: float = FORGET_AFTER_S) -> int:
    cutoff = utcnow() - dt.timedelta(seconds=older_than_s)
    result = await db[COLLECTION].delete_many({"key": {"$regex": "^manager:"}, "heartbeatAt": {"$lt": cutoff}})
    return result.deleted_count
