"""The `series` collection (spec 6.4), keyed by `seriesUid`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "series"


async def find(
    db: AsyncDatabase, series_uid: str, session: AsyncClientSession | None = None
) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"seriesUid": series_uid}, NO_ID, session=session)


async def find_many(db: AsyncDatabase, series_uids: list[str]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"seriesUid": {"$in": series_uids}}, NO_ID).to_list()


async def domains_of(db: AsyncDatabase, series_uids: list[str]) -> set[str]:
    docs = await db[COLLECTION].find({"seriesUid": {"$in": series_uids}}, {"domain": 1}).to_list()
    return {doc["domain"] for doc in docs if "domain" in doc}


async def delete(db: AsyncDatabase, series_uid: str, session: AsyncClientSession | None = None) -> bool:
    """Remove the series document; False when there was none."""
    result = await db[COLLECTION].delete_one({"seriesUid": series_uid}, session=session)
    return result.deleted_count > 0


# ---- writes of the DICOM import (spec 5.2) and `refresh-series-parameters` (spec 8) ----------


async def insert(db: AsyncDatabase, document: dict[str, Any], session: AsyncClientSession | None = None) -> None:
    """Insert a new series; pymongo's DuplicateKeyError when the UID was taken meanwhile."""
    await db[COLLECTION].insert_one(stamped(document), session=session)


async def set_images(
    db: AsyncDatabase, series_uid: str, images: str, session: AsyncClientSession | None = None
) -> None:
    await db[COLLECTION].update_one(
        {"seriesUid": series_uid}, {"$set": {"images": images, "updatedAt": utcnow()}}, session=session
    )


async def set_parameters(db: AsyncDatabase, series_uid: str, parameters: dict[str, Any]) -> None:
    """Replace `parameters` leaving `updatedAt` as it was (a refresh is not a user's change)."""
    await db[COLLECTION].update_one({"seriesUid": series_uid}, {"$set": {"parameters": parameters}})


async def images_of_all(db: AsyncDatabase, created_until: dt.datetime | None = None) -> list[dict[str, Any]]:
    """`seriesUid` and `images` of every series (created at or before `created_until` if given)."""
    filter = {"createdAt": {"$lte": created_until}} if created_until else {}
    cursor = db[COLLECTION].find(filter, {"_id": 0, "seriesUid": 1, "images": 1}).sort("createdAt", 1)
    return await cursor.to_list()
