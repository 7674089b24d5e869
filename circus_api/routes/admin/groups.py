"""`/admin/groups` and `/admin/global-privileges` (spec 4.13)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.privileges import GLOBAL_PRIVILEGES
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import GROUP_PATCH, NEW_GROUP
from circus_api.search import SearchSpec, parse_search
from circus_api.services import groups

SEARCH = SearchSpec(frozenset(), (("groupId", 1),), unlimited=True, filter_ignored=True)
ADMIN = ("manageServer",)


async def list_groups(ctx: RequestContext) -> dict[str, Any]:
    return await groups.search(ctx.db, parse_search(ctx.query, SEARCH))


async def get_group(ctx: RequestContext) -> dict[str, Any]:
    return await groups.get(ctx.db, ctx.path["groupId"])


async def update_group(ctx: RequestContext) -> None:
    await groups.update(ctx.db, ctx.path["groupId"], ctx.body)


async def create_group(ctx: RequestContext) -> dict[str, int]:
    return {"groupId": await groups.create(ctx.db, ctx.body)}


async def list_global_privileges(ctx: RequestContext) -> list[dict[str, str]]:
    return [{"privilege": key, "caption": caption} for key, caption in GLOBAL_PRIVILEGES.items()]


ROUTES = [
    ApiRoute("GET", "/admin/groups", list_groups, global_privileges=ADMIN, summary="List groups"),
    ApiRoute("GET", "/admin/groups/{groupId}", get_group, global_privileges=ADMIN, summary="A group"),
    ApiRoute("PATCH", "/admin/groups/{groupId}", update_group, global_privileges=ADMIN, body="json",
             body_schema=GROUP_PATCH, summary="Change a group"),
    ApiRoute("POST", "/admin/groups", create_group, global_privileges=ADMIN, body="json", body_schema=NEW_GROUP,
             status=201, summary="Create a group"),
    ApiRoute("GET", "/admin/global-privileges", list_global_privileges, global_privileges=ADMIN,
             summary="The global privileges and their captions"),
]
