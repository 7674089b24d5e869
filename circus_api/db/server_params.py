"""The `serverParams` collection (spec 6.12): admin-edited key/value settings."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import utcnow

COLLECTION = "serverParams"


async def all_params(db: AsyncDatabase) -> dict[str, Any]:
    docs = await db[COLLECTION].find({}, {"_id": 0, "key": 1, "value": 1}).to_list()
    return {doc["key"]: doc.get("value") for doc in docs}


async def find(db: AsyncDatabase, key: str) -> tuple[bool, Any]:
    """(exists, value) so that a stored null differs from a missing key."""
    doc = await db[COLLECTION].find_one({"key": key}, {"_id": 0, "value": 1})
    return (doc is not None, doc.get("value") if doc else None)


async def insert_if_missing(db: AsyncDatabase, key: str, value: Any) -> None:
    """Store `value` unless the key exists (concurrent callers agree on the first one stored)."""
    now = utcnow()
    await db[COLLECTION].update_one(
        {"key": key}, {"$setOnInsert": {"value": value, "createdAt": now, "updatedAt": now}}, upsert=True
    )


async def upsert(db: AsyncDatabase, key: str, value: Any) -> None:
    now = utcnow()
    await db[COLLECTION].update_one(
        {"key": key},
        {"$set": {"value": value, "updatedAt": now}, "$setOnInsert": {"createdAt": now}},
        upsert=True,
    )
