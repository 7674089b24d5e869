"""The job manager's on/off switch, stored in MongoDB so every manager on every machine obeys it.

Switched off, managers claim no new jobs; running jobs finish.
"""

from __future__ import annotations

from typing import Literal

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import utcnow

COLLECTION = "pluginJobManager"
SWITCH_KEY = "switch"
Status = Literal["running", "stopped"]
DEFAULT_STATUS: Status = "running"


async def get_status(db: AsyncDatabase) -> Status:
    doc = await db[COLLECTION].find_one({"key": SWITCH_KEY})
    return doc["status"] if doc and doc.get("status") in ("running", "stopped") else DEFAULT_STATUS


async def set_status(db: AsyncDatabase, status: Status, changed_by: str) -> None:
    now = utcnow()
    await db[COLLECTION].update_one(
        {"key": SWITCH_KEY},
        {"$set": {"status": status, "changedBy": changed_by, "updatedAt": now}, "$setOnInsert": {"createdAt": now}},
        upsert=True,
    )
