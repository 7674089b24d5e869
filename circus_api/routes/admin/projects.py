"""`/admin/projects` (spec 4.13)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import NEW_PROJECT, PROJECT_PATCH
from circus_api.search import SearchSpec, parse_search
from circus_api.services import projects

SEARCH = SearchSpec(frozenset(), (("updatedAt", -1),), unlimited=True, filter_ignored=True)
ADMIN = ("manageServer",)


async def list_projects(ctx: RequestContext) -> dict[str, Any]:
    return await projects.search(ctx.db, parse_search(ctx.query, SEARCH))


async def get_project(ctx: RequestContext) -> dict[str, Any]:
    return await projects.get(ctx.db, ctx.path["projectId"])


async def update_project(ctx: RequestContext) -> None:
    await projects.update(ctx.db, ctx.path["projectId"], ctx.body)


async def create_project(ctx: RequestContext) -> dict[str, str]:
    return {"projectId": await projects.create(ctx.db, ctx.body)}


ROUTES = [
    ApiRoute("GET", "/admin/projects", list_projects, global_privileges=ADMIN, summary="List projects"),
    ApiRoute("GET", "/admin/projects/{projectId}", get_project, global_privileges=ADMIN, summary="A project"),
    ApiRoute("PATCH", "/admin/projects/{projectId}", update_project, global_privileges=ADMIN, body="json",
             body_schema=PROJECT_PATCH, summary="Change a project"),
    ApiRoute("POST", "/admin/projects", create_project, global_privileges=ADMIN, body="json",
             body_schema=NEW_PROJECT, status=201, summary="Create a project"),
]
