"""The `onetimeUrls` collection (spec 6.13): single-use login strings that expire after 60 s."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import stamped, utcnow

COLLECTION = "onetimeUrls"
LIFETIME = dt.timedelta(seconds=60)


async def insert(db: AsyncDatabase, entry: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(stamped(entry))


async def exists(db: AsyncDatabase, onetime_string: str) -> bool:
    return await db[COLLECTION].count_documents({"onetimeString": onetime_string}, limit=1) > 0


async def take(db: AsyncDatabase, onetime_string: str) -> dict[str, Any] | None:
    """Delete and return a still-valid entry. The TTL monitor is lazy, so the age is checked too."""
    doc = await db[COLLECTION].find_one_and_delete({"onetimeString": onetime_string}, {"_id": 0})
    if doc is None or doc.get("createdAt", utcnow()) < utcnow() - LIFETIME:
        return None
    return doc
