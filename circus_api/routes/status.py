"""`GET /status` (public liveness) and the OAuth2 token endpoint (`POST /login`, `/api/login`)."""

from __future__ import annotations

from typing import Any

from circus_api import auth
from circus_api.context import RequestContext
from circus_api.routing import ApiRoute


async def status(ctx: RequestContext) -> dict[str, Any]:
    return {"status": "running"}


ROUTES = [
    ApiRoute("GET", "/status", status, public=True, summary="Liveness ping"),
    ApiRoute("POST", "/login", auth.token_endpoint, public=True, summary="OAuth2 token endpoint"),
    # other methods reach the endpoint too, so they get OAuth's "method must be POST" error
    ApiRoute("GET", "/login", auth.token_endpoint, public=True, summary="Refused: the token endpoint takes POST"),
]
