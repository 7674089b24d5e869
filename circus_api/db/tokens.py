"""The `tokens` collection (spec 6.10): OAuth access/refresh pairs and permanent tokens."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped

COLLECTION = "tokens"
CLIENT_NAME = "CIRCUS Front UI"


async def find_by_access_token(db: AsyncDatabase, access_token: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"accessToken": access_token}, NO_ID)


async def take_by_refresh_token(db: AsyncDatabase, refresh_token: str) -> dict[str, Any] | None:
    """Delete and return the token row of a refresh token (a refresh consumes the old pair)."""
    return await db[COLLECTION].find_one_and_delete(
        {"refreshToken": refresh_token, "permanentTokenId": None}, {"_id": 0}
    )


async def extend_access(db: AsyncDatabase, access_token: str, until: dt.datetime) -> None:
    """Move a session's access-token expiry (the web UI's sliding session)."""
    await db[COLLECTION].update_one(
        {"accessToken": access_token, "permanentTokenId": None}, {"$set": {"accessTokenExpiresAt": until}}
    )


async def delete_session(db: AsyncDatabase, access_token: str) -> None:
    """Delete one session token (signing out of one browser); permanent tokens are never touched."""
    await db[COLLECTION].delete_one({"accessToken": access_token, "permanentTokenId": None})


async def insert(db: AsyncDatabase, token: dict[str, Any]) -> None:
    await db[COLLECTION].insert_one(stamped(token))


async def delete_sessions(db: AsyncDatabase, user_email: str) -> int:
    """Delete every non-permanent token of a user (logout ends all sessions)."""
    result = await db[COLLECTION].delete_many({"userId": user_email, "permanentTokenId": None})
    return result.deleted_count


async def delete_all(db: AsyncDatabase, include_permanent: bool) -> int:
    query: dict[str, Any] = {} if include_permanent else {"permanentTokenId": None}
    result = await db[COLLECTION].delete_many(query)
    return result.deleted_count


async def list_permanent(db: AsyncDatabase, user_email: str) -> list[dict[str, Any]]:
    cursor = db[COLLECTION].find(
        {"userId": user_email, "permanentTokenId": {"$ne": None}}, NO_ID
    ).sort("createdAt", 1)
    return await cursor.to_list()


async def count_permanent(db: AsyncDatabase, user_email: str) -> int:
    return await db[COLLECTION].count_documents({"userId": user_email, "permanentTokenId": {"$ne": None}})


async def delete_permanent(db: AsyncDatabase, user_email: str, token_id: str) -> bool:
    result = await db[COLLECTION].delete_one({"userId": user_email, "permanentTokenId": token_id})
    return result.deleted_count > 0


def new_token_document(
    user_email: str,
    access_token: str,
    access_expires: dt.datetime,
    refresh_token: str,
    refresh_expires: dt.datetime,
    permanent_id: str | None = None,
    description: str | None = None,
) -> dict[str, Any]:
    return {
        "accessToken": access_token,
        "accessTokenExpiresAt": access_expires,
        "refreshToken": refresh_token,
        "refreshTokenExpiresAt": refresh_expires,
        "clientId": CLIENT_NAME,
        "userId": user_email,
        "permanentTokenId": permanent_id,
        "permanentTokenDescription": description,
    }
