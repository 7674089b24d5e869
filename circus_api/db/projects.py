"""The `projects` collection (spec 6.3), keyed by `projectId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "projects"


async def find(db: AsyncDatabase, project_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"projectId": project_id}, NO_ID)


async def find_many(db: AsyncDatabase, project_ids: list[str]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"projectId": {"$in": project_ids}}, NO_ID).to_list()


async def insert(db: AsyncDatabase, project: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(stamped(project))


async def update(db: AsyncDatabase, project_id: str, fields: dict[str, Any]) -> bool:
    result = await db[COLLECTION].update_one(
        {"projectId": project_id}, {"$set": {**fields, "updatedAt": utcnow()}}
    )
    return result.matched_count > 0


async def find_by_name(db: AsyncDatabase, project_name: str) -> dict[str, Any] | None:
    """The first project named exactly `project_name` (case-sensitive, as CIRCUS's CLIs match)."""
    return await db[COLLECTION].find_one({"projectName": project_name}, NO_ID)
