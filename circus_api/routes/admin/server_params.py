"""`/admin/server-params` (spec 4.14): free-form key/value parameters such as `domains`."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import SERVER_PARAM_VALUE, SERVER_PARAMS
from circus_api.services import server_params

ADMIN = ("manageServer",)


async def list_params(ctx: RequestContext) -> dict[str, Any]:
    return await server_params.all_params(ctx.db)


async def get_param(ctx: RequestContext) -> JSONResponse:
    value = await server_params.get(ctx.db, ctx.path["key"])
    return JSONResponse(value)  # always JSON, strings and null included (spec 4.14 Re-impl)


async def put_param(ctx: RequestContext) -> None:
    await server_params.put(ctx.db, {ctx.path["key"]: ctx.body})


async def put_params(ctx: RequestContext) -> None:
    await server_params.put(ctx.db, ctx.body)


ROUTES = [
    ApiRoute("GET", "/admin/server-params", list_params, global_privileges=ADMIN, summary="Every parameter"),
    ApiRoute("GET", "/admin/server-params/{key}", get_param, global_privileges=ADMIN, summary="One parameter"),
    ApiRoute("PUT", "/admin/server-params/{key}", put_param, global_privileges=ADMIN, body="json",
             body_schema=SERVER_PARAM_VALUE, summary="Set one parameter"),
    ApiRoute("PUT", "/admin/server-params", put_params, global_privileges=ADMIN, body="json",
             body_schema=SERVER_PARAMS, summary="Set several parameters"),
]
