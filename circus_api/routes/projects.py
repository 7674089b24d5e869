"""`GET /projects/:projectId` (spec 4.4)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import projects


async def get_project(ctx: RequestContext) -> dict[str, Any]:
    return await projects.get(ctx.db, ctx.path["projectId"])


ROUTES = [ApiRoute("GET", "/projects/{projectId}", get_project, project_roles=("read",), summary="A project")]
