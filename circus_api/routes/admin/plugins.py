"""`/admin/plugins` (spec 4.14 #70-#72)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.plugins import NEW_PLUGIN, PLUGIN_PATCH
from circus_api.search import SearchSpec, parse_search
from circus_api.services import plugins

SEARCH = SearchSpec(frozenset({"type"}), (("pluginId", 1),), unlimited=True)
ADMIN = ("manageServer",)


async def list_plugins(ctx: RequestContext) -> dict[str, Any]:
    return await plugins.search(ctx.db, parse_search(ctx.query, SEARCH))


async def update_plugin(ctx: RequestContext) -> None:
    await plugins.update(ctx.db, ctx.path["pluginId"], ctx.body)


async def create_plugin(ctx: RequestContext) -> None:
    await plugins.create(ctx.db, ctx.body)


ROUTES = [
    # Re-impl: CIRCUS lets any authenticated user list the definitions
    ApiRoute("GET", "/admin/plugins", list_plugins, global_privileges=ADMIN, summary="List plug-ins"),
    ApiRoute("PATCH", "/admin/plugins/{pluginId}", update_plugin, global_privileges=ADMIN, body="json",
             body_schema=PLUGIN_PATCH, summary="Change a plug-in definition"),
    ApiRoute("POST", "/admin/plugins", create_plugin, global_privileges=ADMIN, body="json",
             body_schema=NEW_PLUGIN, status=201, summary="Add a plug-in definition"),
]
