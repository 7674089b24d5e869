"""Server parameters (spec 4.14): free-form settings admins edit, such as `domains`.

Keys starting with `_` are the server's own (`_webSecret`, the key that signs the web UI's CSRF
tokens): the admin routes neither list, read nor write them.
"""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db import server_params
from circus_api.errors import BadRequest, NotFound

RESERVED_PREFIX = "_"
WEB_SECRET_KEY = "_webSecret"


def is_reserved(key: str) -> bool:
    return key.startswith(RESERVED_PREFIX)


async def all_params(db: AsyncDatabase) -> dict[str, Any]:
    return {k: v for k, v in (await server_params.all_params(db)).items() if not is_reserved(k)}


async def get(db: AsyncDatabase, key: str) -> Any:
    exists, value = await server_params.find(db, key)
    if not exists or is_reserved(key):
        raise NotFound("This server parameter does not exist.")
    return value


async def put(db: AsyncDatabase, values: dict[str, Any]) -> None:
    reserved = sorted(key for key in values if is_reserved(key))
    if reserved:
        raise BadRequest(f'Server parameter names starting with "{RESERVED_PREFIX}" are reserved: {reserved[0]}')
    for key, value in values.items():
        await server_params.upsert(db, key, value)


async def web_secret(db: AsyncDatabase) -> str:
    """The installation's secret for the web UI (created on first use; every API node shares it)."""
    # a DuplicateKeyError: another node stored it between our upsert's match and insert
    with contextlib.suppress(DuplicateKeyError):
        await server_params.insert_if_missing(db, WEB_SECRET_KEY, secrets.token_hex(32))
    _exists, value = await server_params.find(db, WEB_SECRET_KEY)
    return str(value)
