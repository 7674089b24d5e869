"""`/plugin-displays/:pluginId/:path+`: a plug-in's custom result displays (spec 4.9 #39; public)."""

from __future__ import annotations

from starlette.responses import FileResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services.plugin_displays import DisplayCache


async def get_display_file(ctx: RequestContext) -> FileResponse:
    cache: DisplayCache = ctx.state.plugin_displays
    path, media_type = await cache.display_file(ctx.db, ctx.path["pluginId"], ctx.path["path"])
    return FileResponse(path, media_type=media_type)


ROUTES = [
    ApiRoute("GET", "/plugin-displays/{pluginId}/{path+}", get_display_file, public=True,
             summary="A file of the plug-in's custom displays (e.g. displays/remoteEntry.js)"),
]
