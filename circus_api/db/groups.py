"""The `groups` collection (spec 6.2), keyed by the integer `groupId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "groups"

PROJECT_ROLE_FIELDS = {
    "readProjects": "read",
    "writeProjects": "write",
    "addSeriesProjects": "addSeries",
    "viewPersonalInfoProjects": "viewPersonalInfo",
    "moderateProjects": "moderate",
}
PLUGIN_ROLE_FIELDS = (
    "readPlugin",
    "executePlugin",
    "manageJobs",
    "inputPersonalFeedback",
    "inputConsensualFeedback",
    "manageFeedback",
    "viewPersonalInfo",
)


async def find(db: AsyncDatabase, group_id: int) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"groupId": group_id}, NO_ID)


async def find_many(db: AsyncDatabase, group_ids: list[int]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"groupId": {"$in": group_ids}}, NO_ID).to_list()


async def existing_ids(db: AsyncDatabase, group_ids: list[int]) -> set[int]:
    docs = await db[COLLECTION].find({"groupId": {"$in": group_ids}}, {"groupId": 1}).to_list()
    return {doc["groupId"] for doc in docs}


async def insert(db: AsyncDatabase, group: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(stamped(group))


async def update(db: AsyncDatabase, group_id: int, fields: dict[str, Any]) -> bool:
    result = await db[COLLECTION].update_one(
        {"groupId": group_id}, {"$set": {**fields, "updatedAt": utcnow()}}
    )
    return result.matched_count > 0


async def max_group_id(db: AsyncDatabase) -> int:
    doc = await db[COLLECTION].find_one({}, {"groupId": 1}, sort=[("groupId", -1)])
    return int(doc["groupId"]) if doc else 0


async def list_all(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({}, NO_ID).sort("groupId", 1).to_list()
