"""The `pluginDefinitions` collection (spec 6.6), keyed by `pluginId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID

COLLECTION = "pluginDefinitions"


async def find(db: AsyncDatabase, plugin_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"pluginId": plugin_id}, NO_ID)


async def find_many(db: AsyncDatabase, plugin_ids: list[str]) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({"pluginId": {"$in": plugin_ids}}, NO_ID).to_list()
