"""`/admin/plugin-job-manager` and its switch (spec 4.14; admins only, Re-impl).

The switch is stored in MongoDB so that every job manager, on any machine, obeys it. Beyond the
original, GET also lists the registered managers: heartbeat, slots, running jobs, Docker.
"""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import JOB_MANAGER_SWITCH
from job_manager import managers, switch

ADMIN = ("manageServer",)


MANAGER_FIELDS = (
    "managerId", "host", "pid", "startedAt", "heartbeatAt", "slots", "gpuSlots", "runningJobs",
    "dockerAvailable", "dockerMessage", "gpuRuntime",
)


def manager_summary(doc: dict[str, Any]) -> dict[str, Any]:
    """A registry entry as the admin page shows it; `alive` means a fresh heartbeat."""
    summary = {key: doc.get(key) for key in MANAGER_FIELDS}
    summary["alive"] = not doc.get("stale", True)
    return summary


async def get_state(ctx: RequestContext) -> dict[str, Any]:
    status = await switch.get_status(ctx.db)
    return {"status": status, "managers": [manager_summary(doc) for doc in await managers.list_managers(ctx.db)]}


async def set_state(ctx: RequestContext) -> dict[str, Any]:
    await switch.set_status(ctx.db, ctx.body["status"], ctx.user_email)
    return {"status": ctx.body["status"]}


ROUTES = [
    ApiRoute("GET", "/admin/plugin-job-manager", get_state, global_privileges=ADMIN,
             summary="Whether the job manager takes new jobs"),
    ApiRoute("PUT", "/admin/plugin-job-manager/switch", set_state, global_privileges=ADMIN, body="json",
             body_schema=JOB_MANAGER_SWITCH, summary="Start or stop taking new jobs"),
]
