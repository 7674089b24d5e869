"""Server parameters (spec 4.14): free-form settings admins edit, such as `domains`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import server_params
from circus_api.errors import NotFound


async def all_params(db: AsyncDatabase) -> dict[str, Any]:
    return await server_params.all_params(db)


async def get(db: AsyncDatabase, key: str) -> Any:
    exists, value = await server_params.find(db, key)
    if not exists:
        raise NotFound("This server parameter does not exist.")
    return value


async def put(db: AsyncDatabase, values: dict[str, Any]) -> None:
    for key, value in values.items():
        await server_params.upsert(db, key, value)
