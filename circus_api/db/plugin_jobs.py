"""The `pluginJobs` collection (spec 6.7), keyed by `jobId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID

COLLECTION = "pluginJobs"


async def find(db: AsyncDatabase, job_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"jobId": job_id}, NO_ID)
