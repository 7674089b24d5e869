"""Permanent tokens: `GET/POST /tokens`, `DELETE /tokens/:tokenId` (spec 4.3)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.users import NEW_TOKEN
from circus_api.services import tokens


async def list_tokens(ctx: RequestContext) -> dict[str, Any]:
    return await tokens.list_permanent(ctx.db, ctx.user_email)


async def create_token(ctx: RequestContext) -> dict[str, str]:
    return await tokens.create_permanent(ctx.db, ctx.user_email, ctx.body["description"])


async def delete_token(ctx: RequestContext) -> None:
    await tokens.delete_permanent(ctx.db, ctx.user_email, ctx.path["tokenId"])


ROUTES = [
    ApiRoute("GET", "/tokens", list_tokens, summary="The caller's permanent tokens"),
    ApiRoute("POST", "/tokens", create_token, body="json", body_schema=NEW_TOKEN, status=201,
             summary="Create a permanent token"),
    ApiRoute("DELETE", "/tokens/{tokenId}", delete_token, summary="Delete one of the caller's permanent tokens"),
]
