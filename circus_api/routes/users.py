"""`GET /users/:userEmail` (spec 4.3)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import users


async def get_user(ctx: RequestContext) -> dict[str, Any]:
    return await users.public_profile(ctx.db, ctx.path["userEmail"])


ROUTES = [ApiRoute("GET", "/users/{userEmail}", get_user, summary="A user's public profile")]
