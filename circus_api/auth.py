"""Authentication: bearer tokens on `/api` (spec 1.2) and the OAuth2 token endpoint (spec 1.1).

Passwords are PHP-compatible bcrypt hashes (`$2y$`); hashing and checking run in a thread so the
event loop never waits on them.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
import bcrypt
from pymongo.asynchronous.database import AsyncDatabase
from starlette.responses import JSONResponse

from circus_api.context import RequestContext
from circus_api.db import onetime_urls, tokens, users
from circus_api.db.documents import utcnow
from circus_api.db.ids import new_ulid, random_hex40
from circus_api.errors import CircusError, Unauthorized
from circus_api.privileges import Privileges, compute_privileges

CLIENT_ID = "circus-front"
ACCESS_TOKEN_LIFETIME = dt.timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=14)
PERMANENT_EXPIRY = dt.datetime(2100, 12, 31)


class OAuthError(CircusError):
    """An OAuth2 failure; the body carries the oauth2-server style message (spec 0.5)."""

    status_code = 400


# ---- passwords -------------------------------------------------------------------------------


def hash_password_sync(password: str) -> str:
    """A bcrypt hash with PHP's `$2y$` prefix, so CIRCUS (PHP-era tools included) accepts it."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode()
    return "$2y$" + hashed[4:]


def check_password_sync(password: str, hashed: str) -> bool:
    if not hashed or len(password.encode()) > 72:  # bcrypt only reads 72 bytes; refuse longer
        return False
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a bcrypt hash at all
        return False


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(hash_password_sync, password)


async def check_password(password: str, hashed: str) -> bool:
    return await anyio.to_thread.run_sync(check_password_sync, password, hashed)


# ---- bearer tokens ---------------------------------------------------------------------------


async def authenticate(ctx: RequestContext) -> tuple[dict[str, Any], Privileges]:
    """The user behind the request's bearer token, with privileges recomputed from the database."""
    if ctx.settings.fix_user:
        user = await users.find(ctx.db, ctx.settings.fix_user)
        if user is None:
            raise Unauthorized("Invalid token: the fixed user does not exist")
        return user, await compute_privileges(ctx.db, user)
    header = ctx.request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Unauthorized request: no authentication given")
    row = await tokens.find_by_access_token(ctx.db, token.strip())
    if row is None:
        raise Unauthorized("Invalid token: access token is invalid")
    if row.get("accessTokenExpiresAt") and row["accessTokenExpiresAt"] < utcnow():
        raise Unauthorized("Invalid token: access token has expired")
    user = await users.find(ctx.db, row["userId"])
    if user is None:
        raise Unauthorized("Invalid token: access token is invalid")
    return user, await compute_privileges(ctx.db, user)


async def issue_session_token(ctx: RequestContext, user: dict[str, Any]) -> dict[str, Any]:
    now = utcnow()
    access, refresh = random_hex40(), random_hex40()
    await tokens.insert(
        ctx.db,
        tokens.new_token_document(
            user["userEmail"], access, now + ACCESS_TOKEN_LIFETIME, refresh, now + REFRESH_TOKEN_LIFETIME
        ),
    )
    await users.record_login(ctx.db, user["userEmail"], now, client_ip(ctx))
    return {
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": int(ACCESS_TOKEN_LIFETIME.total_seconds()),
        "refresh_token": refresh,
    }


async def issue_permanent_token(db: AsyncDatabase, user_email: str, description: str) -> dict[str, str]:
    token_id, access = new_ulid(), random_hex40()
    await tokens.insert(
        db,
        tokens.new_token_document(
            user_email, access, PERMANENT_EXPIRY, random_hex40(), PERMANENT_EXPIRY, token_id, description
        ),
    )
    return {"tokenId": token_id, "accessToken": access}


def client_ip(ctx: RequestContext) -> str:
    forwarded = ctx.request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return ctx.request.client.host if ctx.request.client else ""


# ---- the token endpoint ----------------------------------------------------------------------


def _client_credentials(ctx: RequestContext, form: dict[str, str]) -> tuple[str, str]:
    header = ctx.request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            raise OAuthError("Invalid client: cannot retrieve client credentials") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    if not form.get("client_id") or not form.get("client_secret"):  # empty counts as absent
        raise OAuthError("Invalid client: cannot retrieve client credentials")
    return form["client_id"], form["client_secret"]


def _required(form: dict[str, str], name: str) -> str:
    if not form.get(name):
        raise OAuthError(f"Missing parameter: `{name}`")
    return form[name]


async def _user_for_password(ctx: RequestContext, username: str, password: str) -> dict[str, Any] | None:
    # a one-time string is sent as both username and password (spec 1.4)
    if await onetime_urls.exists(ctx.db, password):
        if username != password:
            return None
        entry = await onetime_urls.take(ctx.db, password)
        return await users.find(ctx.db, entry["userEmail"]) if entry else None
    candidates = await users.find_by_email_or_login(ctx.db, username)
    if not candidates:
        await check_password("x", "")  # keep the timing of unknown users close to known ones
        return None
    user = candidates[0]
    return user if await check_password(password, user.get("password", "")) else None


async def token_endpoint(ctx: RequestContext) -> JSONResponse:
    """`POST /login`: OAuth2 password and refresh_token grants for the `circus-front` client."""
    if ctx.request.method != "POST":
        raise OAuthError("Invalid request: method must be POST")
    media_type = ctx.request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise OAuthError("Invalid request: content must be application/x-www-form-urlencoded")
    raw = await ctx.request.body()
    if len(raw) > ctx.settings.json_body_max_bytes:
        raise OAuthError("Invalid request: the body is too large", status_code=413)
    parsed = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    form = {key: values[0] for key, values in parsed.items()}
    # oauth2-server's order: the client first, then the grant
    client_id, _secret = _client_credentials(ctx, form)
    if client_id != CLIENT_ID:
        raise OAuthError("Invalid client: client is invalid")
    grant_type = _required(form, "grant_type")
    if grant_type == "password":
        username, password = _required(form, "username"), _required(form, "password")
        user = await _user_for_password(ctx, username, password)
        if user is None or user.get("loginEnabled") is False:
            raise OAuthError("Invalid grant: user credentials are invalid")
    elif grant_type == "refresh_token":
        row = await tokens.take_by_refresh_token(ctx.db, _required(form, "refresh_token"))
        if row is None:
            raise OAuthError("Invalid grant: refresh token is invalid")
        if row["refreshTokenExpiresAt"] < utcnow():
            raise OAuthError("Invalid grant: refresh token has expired")
        user = await users.find(ctx.db, row["userId"])
        if user is None or user.get("loginEnabled") is False:
            raise OAuthError("Invalid grant: refresh token is invalid")
    else:
        raise OAuthError("Unsupported grant type: `grant_type` is invalid")
    body = await issue_session_token(ctx, user)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

