"""Permanent API tokens (spec 1.3, 4.3)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api import auth
from circus_api.db import tokens
from circus_api.errors import BadRequest, NotFound

MAX_PERMANENT_TOKENS = 10


async def list_permanent(db: AsyncDatabase, user_email: str) -> dict[str, Any]:
    rows = await tokens.list_permanent(db, user_email)
    items = [
        {
            "tokenId": row["permanentTokenId"],
            "description": row.get("permanentTokenDescription"),
            "createdAt": row.get("createdAt"),
            "updatedAt": row.get("updatedAt"),
        }
        for row in rows
    ]
    return {"items": items, "totalItems": len(items), "page": 1}


async def create_permanent(db: AsyncDatabase, user_email: str, description: str) -> dict[str, str]:
    if await tokens.count_permanent(db, user_email) >= MAX_PERMANENT_TOKENS:
        raise BadRequest(f"You cannot create more than {MAX_PERMANENT_TOKENS} tokens.")
    return await auth.issue_permanent_token(db, user_email, description)


async def delete_permanent(db: AsyncDatabase, user_email: str, token_id: str) -> None:
    if not await tokens.delete_permanent(db, user_email, token_id):
        raise NotFound("This token does not exist.")
