"""The `tasks` collection (spec 6.11): long operations and their outcome, keyed by `taskId`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "tasks"


async def insert(db: AsyncDatabase, task: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(stamped(task))


async def find(db: AsyncDatabase, task_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"taskId": task_id}, NO_ID)


async def processing_of_user(db: AsyncDatabase, user_email: str) -> list[dict[str, Any]]:
    cursor = db[COLLECTION].find({"userEmail": user_email, "status": "processing"}, NO_ID).sort("createdAt", 1)
    return await cursor.to_list()


async def all_processing(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"status": "processing"}, NO_ID).to_list()


async def end(db: AsyncDatabase, task_id: str, status: str, message: str) -> bool:
    """Finish or fail a task that is still processing; False if it had already ended."""
    field = "finishedMessage" if status == "finished" else "errorMessage"
    now = utcnow()
    result = await db[COLLECTION].update_one(
        {"taskId": task_id, "status": "processing"},
        {"$set": {"status": status, field: message, "endedAt": now, "updatedAt": now}},
    )
    return result.modified_count > 0


async def set_dismissed(db: AsyncDatabase, task_id: str, dismissed: bool) -> None:
    await db[COLLECTION].update_one(
        {"taskId": task_id}, {"$set": {"dismissed": dismissed, "updatedAt": utcnow()}}
    )


async def downloadable_ended_before(db: AsyncDatabase, when: dt.datetime) -> list[str]:
    cursor = db[COLLECTION].find(
        {"downloadFileType": {"$ne": None}, "endedAt": {"$ne": None, "$lt": when}}, {"taskId": 1}
    )
    return [doc["taskId"] for doc in await cursor.to_list()]
