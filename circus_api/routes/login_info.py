"""`/login-info`, `/login-info/full` and `/logout` (spec 4.1)."""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import users


async def login_info(ctx: RequestContext) -> dict[str, Any]:
    return {"userEmail": ctx.user_email, "loginId": ctx.user.get("loginId") if ctx.user else None}


async def full_login_info(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.user is not None
    return await users.full_login_info(
        ctx.db, ctx.user, ctx.privs, ctx.settings.dicom_image_server_url, ctx.settings.upload_file_size_max_bytes
    )


async def logout(ctx: RequestContext) -> None:
    await users.logout(ctx.db, ctx.user_email)


ROUTES = [
    ApiRoute("GET", "/login-info", login_info, summary="Who am I"),
    ApiRoute("GET", "/login-info/full", full_login_info, summary="Who am I, with privileges and shared lists"),
    ApiRoute("GET", "/logout", logout, summary="End every session of the current user"),
]
