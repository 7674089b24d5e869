"""`/admin/plugin-job-queue` (spec 4.11 #80): every queued job, for administrators."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.search import parse_paging
from circus_api.services import plugin_jobs


async def list_queue(ctx: RequestContext) -> dict[str, Any]:
    limit, page = parse_paging(ctx.query, unlimited=True)
    state = plugin_jobs.queue_state(ctx.query.getlist("state"))
    return await plugin_jobs.list_queue(ctx.db, state, limit, page)


ROUTES = [
    ApiRoute("GET", "/admin/plugin-job-queue", list_queue, global_privileges=("manageServer",),
             summary="The job queue (state wait, processing or all)"),
]
