"""The `pluginDefinitions` collection (spec 6.6), keyed by `pluginId`."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db.documents import NO_ID, DuplicateKey, duplicate_key_field, stamped, utcnow

COLLECTION = "pluginDefinitions"


async def find(db: AsyncDatabase, plugin_id: str, session: AsyncClientSession | None = None) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"pluginId": plugin_id}, NO_ID, session=session)


async def find_by_name(db: AsyncDatabase, plugin_name: str) -> dict[str, Any] | None:
    """The first plug-in with exactly this name (the register-plugin-job CLI)."""
    return await db[COLLECTION].find_one({"pluginName": plugin_name}, NO_ID, sort=[("_id", ASCENDING)])


async def update(db: AsyncDatabase, plugin_id: str, fields: dict[str, Any]) -> bool:
    """Set top-level fields plus `updatedAt`; False when there is no such plug-in."""
    result = await db[COLLECTION].update_one({"pluginId": plugin_id}, {"$set": {**fields, "updatedAt": utcnow()}})
    return result.matched_count == 1


async def find_many(db: AsyncDatabase, plugin_ids: list[str]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"pluginId": {"$in": plugin_ids}}, NO_ID).to_list()


async def list_all(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({}, NO_ID).sort("pluginId", ASCENDING).to_list()


async def find_by_name_version(db: AsyncDatabase, plugin_name: str, version: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"pluginName": plugin_name, "version": version}, NO_ID)


async def ensure_index(db: AsyncDatabase) -> None:
    """The unique index on `pluginId` (spec 1.3 step 1); a no-op when it exists."""
    await db[COLLECTION].create_index([("pluginId", ASCENDING)], unique=True)


async def insert(db: AsyncDatabase, plugin: dict[str, Any]) -> None:
    """Insert a definition with `createdAt`/`updatedAt`; DuplicateKey when the ID exists."""
    try:
        await db[COLLECTION].insert_one(stamped(plugin))
    except DuplicateKeyError as exc:
        raise DuplicateKey(duplicate_key_field(exc.details)) from exc
