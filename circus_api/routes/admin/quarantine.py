"""`/admin/quarantine`: uploaded files the DICOM importer refused (metadata only, never contents)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.search import parse_paging
from circus_api.services import quarantine


async def list_quarantine(ctx: RequestContext) -> dict[str, Any]:
    limit, page = parse_paging(ctx.query, unlimited=False)
    return await quarantine.list_items(ctx.settings.quarantine_dir, limit, page)


ROUTES = [
    ApiRoute("GET", "/admin/quarantine", list_quarantine, global_privileges=("manageServer",),
             summary="Rejected uploads kept in quarantine, newest first"),
]
