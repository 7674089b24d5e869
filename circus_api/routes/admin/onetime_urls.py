"""`POST /admin/onetime-urls` (spec 4.14)."""

from __future__ import annotations

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.admin import NEW_ONETIME_URL
from circus_api.services import onetime_urls


async def issue(ctx: RequestContext) -> dict[str, str]:
    return {"onetimeString": await onetime_urls.issue(ctx.db, ctx.body["user"])}


ROUTES = [
    ApiRoute("POST", "/admin/onetime-urls", issue, global_privileges=("issueOnetime",), body="json",
             body_schema=NEW_ONETIME_URL, status=201, summary="Issue a one-time login string"),
]
