"""`/admin/users` (spec 4.13)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.users import NEW_USER, USER_PATCH
from circus_api.search import SearchSpec, parse_search
from circus_api.services import users

SEARCH = SearchSpec(frozenset(), (("createdAt", -1),), filter_ignored=True)
ADMIN = ("manageServer",)


async def list_users(ctx: RequestContext) -> dict[str, Any]:
    return await users.search(ctx.db, parse_search(ctx.query, SEARCH))


async def get_user(ctx: RequestContext) -> dict[str, Any]:
    return await users.get_for_admin(ctx.db, ctx.path["userEmail"])


async def update_user(ctx: RequestContext) -> None:
    await users.update(ctx.db, ctx.path["userEmail"], ctx.body)


async def create_user(ctx: RequestContext) -> dict[str, str]:
    return {"userEmail": await users.create(ctx.db, ctx.body)}


ROUTES = [
    ApiRoute("GET", "/admin/users", list_users, global_privileges=ADMIN, summary="List users"),
    ApiRoute("GET", "/admin/users/{userEmail}", get_user, global_privileges=ADMIN, summary="A user"),
    ApiRoute("PATCH", "/admin/users/{userEmail}", update_user, global_privileges=ADMIN, body="json",
             body_schema=USER_PATCH, summary="Change a user"),
    ApiRoute("POST", "/admin/users", create_user, global_privileges=ADMIN, body="json", body_schema=NEW_USER,
             status=201, summary="Create a user"),
]
