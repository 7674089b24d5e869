"""`/plugins` (spec 4.9 #37, #38). The public `/plugin-displays/...` (#39) is in
`routes/plugin_displays.py`."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import plugins


async def get_plugin(ctx: RequestContext) -> dict[str, Any]:
    # readPlugin is checked by the service: CIRCUS's message differs from the route-level one
    return plugins.get_readable(ctx.privs, ctx.path["pluginId"])


async def list_plugins(ctx: RequestContext) -> list[dict[str, Any]]:
    return plugins.readable(ctx.privs)


ROUTES = [
    ApiRoute("GET", "/plugins/{pluginId}", get_plugin, summary="A plug-in the caller may read"),
    ApiRoute("GET", "/plugins", list_plugins, summary="The plug-ins the caller may read"),
]
