"""Multi-document transactions (spec 5.8) and the pseudo-lock that serialises writers."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

T = TypeVar("T")


async def with_transaction(
    client: AsyncMongoClient,
    callback: Callable[[AsyncClientSession], Awaitable[T]],
    max_commit_ms: int = 10_000,
) -> T:
    """Run `callback` in a transaction; the driver retries it on transient errors.

    The callback may run more than once: it must not write files or send messages.
    """
    async with client.start_session() as session:
        return await session.with_transaction(callback, max_commit_time_ms=max_commit_ms)


async def lock(db: AsyncDatabase, collection: str, filter: dict[str, Any], session: AsyncClientSession) -> None:
    """Write then unset `myLock` on every document matching `filter`, so a concurrent transaction
    touching one of them conflicts (and is retried)."""
    await db[collection].update_many(filter, {"$set": {"myLock": secrets.token_hex(8)}}, session=session)
    await db[collection].update_many(filter, {"$unset": {"myLock": ""}}, session=session)
