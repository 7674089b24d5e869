"""The `sequences` collection (spec 6.14): counters for sequential IDs such as `groupId`."""

from __future__ import annotations

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import utcnow

COLLECTION = "sequences"


async def next_value(db: AsyncDatabase, key: str, floor: int = 0) -> int:
    """Atomically issue the next number of a sequence (outside any transaction, as CIRCUS).

    `floor` is the highest number already in use: a database filled without the counter (imported
    fixtures, hand edits) must not get a duplicate ID.
    """
    if floor:
        await db[COLLECTION].update_one({"key": key}, {"$max": {"value": floor}}, upsert=True)
    doc = await db[COLLECTION].find_one_and_update(
        {"key": key},
        {"$inc": {"value": 1}, "$set": {"updatedAt": utcnow()}, "$setOnInsert": {"createdAt": utcnow()}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None  # an upsert returning the document after the update always finds one
    return int(doc["value"])
