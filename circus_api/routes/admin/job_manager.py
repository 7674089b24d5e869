"""`/admin/plugin-job-manager` and its switch (spec 4.14; admins only, Re-impl).

The switch is stored in MongoDB so that every job manager, on any machine, obeys it.
"""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import JOB_MANAGER_SWITCH
from job_manager import switch

ADMIN = ("manageServer",)


async def get_state(ctx: RequestContext) -> dict[str, Any]:
    return {"status": await switch.get_status(ctx.db)}


async def set_state(ctx: RequestContext) -> dict[str, Any]:
    await switch.set_status(ctx.db, ctx.body["status"], ctx.user_email)
    return {"status": ctx.body["status"]}


ROUTES = [
    ApiRoute("GET", "/admin/plugin-job-manager", get_state, global_privileges=ADMIN,
             summary="Whether the job manager takes new jobs"),
    ApiRoute("PUT", "/admin/plugin-job-manager/switch", set_state, global_privileges=ADMIN, body="json",
             body_schema=JOB_MANAGER_SWITCH, summary="Start or stop taking new jobs"),
]
