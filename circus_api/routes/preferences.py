"""`GET/PATCH /preferences` (spec 4.2)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.preferences import PREFERENCES_PATCH
from circus_api.services import users


async def get_preferences(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.user is not None
    return await users.preferences(ctx.user)


async def update_preferences(ctx: RequestContext) -> None:
    assert ctx.user is not None
    await users.update_preferences(ctx.db, ctx.user, ctx.body)


ROUTES = [
    ApiRoute("GET", "/preferences", get_preferences, summary="Preferences merged over the defaults"),
    ApiRoute("PATCH", "/preferences", update_preferences, body="json", body_schema=PREFERENCES_PATCH,
             summary="Shallow-merge preferences"),
]
