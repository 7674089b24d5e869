"""The `series` collection (spec 6.4), keyed by `seriesUid`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID

COLLECTION = "series"


async def find(db: AsyncDatabase, series_uid: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"seriesUid": series_uid}, NO_ID)


async def domains_of(db: AsyncDatabase, series_uids: list[str]) -> set[str]:
    docs = await db[COLLECTION].find({"seriesUid": {"$in": series_uids}}, {"domain": 1}).to_list()
    return {doc["domain"] for doc in docs if "domain" in doc}
