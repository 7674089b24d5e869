"""Authentication: bearer tokens on `/api` (spec 1.2) and the OAuth2 token endpoint (spec 1.1).

Passwords are PHP-compatible bcrypt hashes (`$2y$`); hashing and checking run in a thread so the
event loop never waits on them.

The web UI (circus_api/web) signs in through the same credential check and holds an ordinary
session token in the HttpOnly cookie `circus_session`. `/api` accepts that cookie when a request
has no Authorization header; such a request that changes state (POST, PUT, PATCH, DELETE) must
carry `X-CSRF-Token: csrf_token(secret, access token)`, the hex HMAC-SHA256 of the access token
under the installation's secret (server parameter `_webSecret`, shared by every API node).
Cookie sessions slide: while the user is active the access token's expiry moves forward, never
past its refresh token's (14 days after sign-in).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
from typing import Any
from urllib.parse import parse_qs

import anyio.to_thread
import bcrypt
from pymongo.asynchronous.database import AsyncDatabase
from starlette.requests import Request
from starlette.responses import JSONResponse

from circus_api.context import RequestContext
from circus_api.db import onetime_urls, tokens, users
from circus_api.db.documents import utcnow
from circus_api.db.ids import new_ulid, random_hex40
from circus_api.errors import CircusError, Forbidden, Unauthorized
from circus_api.privileges import Privileges, compute_privileges
from circus_api.services import server_params

CLIENT_ID = "circus-front"
ACCESS_TOKEN_LIFETIME = dt.timedelta(hours=1)
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=14)
PERMANENT_EXPIRY = dt.datetime(2100, 12, 31)
SESSION_COOKIE = "circus_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_ERROR = "Missing or invalid CSRF token."
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# a cookie session's expiry is written at most once per this interval (not on every request)
SESSION_EXTEND_EVERY = dt.timedelta(minutes=5)


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
    """The user behind the request's bearer token (or web session cookie), with privileges
    recomputed from the database."""
    if ctx.settings.fix_user:
        user = await users.find(ctx.db, ctx.settings.fix_user)
        if user is None:
            raise Unauthorized("Invalid token: the fixed user does not exist")
        return user, await compute_privileges(ctx.db, user)
    header = ctx.request.headers.get("authorization", "")
    cookie = ctx.request.cookies.get(SESSION_COOKIE, "")
    if not header and cookie:
        user = await _cookie_user(ctx, cookie)
        return user, await compute_privileges(ctx.db, user)
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


async def _cookie_user(ctx: RequestContext, access_token: str) -> dict[str, Any]:
    user = await session_user(ctx.db, access_token)
    if user is None:
        raise Unauthorized("Invalid token: access token is invalid or has expired")
    if ctx.request.method not in SAFE_METHODS:
        expected = csrf_token(await installation_secret(ctx.request, ctx.db), access_token)
        if not hmac.compare_digest(ctx.request.headers.get(CSRF_HEADER, ""), expected):
            raise Forbidden(CSRF_ERROR)
    return user


# ---- web sessions (the cookie of circus_api/web) -----------------------------------------------


async def check_credentials(db: AsyncDatabase, username: str, password: str) -> dict[str, Any] | None:
    """The user a login ID (or e-mail) and password name, as the OAuth password grant checks them:
    a one-time string works as both; a disabled account never signs in."""
    user = await _user_for_password(db, username, password)
    if user is None or user.get("loginEnabled") is False:
        return None
    return user


async def session_user(db: AsyncDatabase, access_token: str) -> dict[str, Any] | None:
    """The user of a live session token, sliding its expiry forward (at most once per
    SESSION_EXTEND_EVERY, never past the refresh token's expiry); None when invalid or expired."""
    row = await tokens.find_by_access_token(db, access_token)
    now = utcnow()
    if row is None or (row.get("accessTokenExpiresAt") and row["accessTokenExpiresAt"] < now):
        return None
    user = await users.find(db, row["userId"])
    if user is None or user.get("loginEnabled") is False:
        return None
    if row.get("permanentTokenId") is None:
        wanted = min(now + ACCESS_TOKEN_LIFETIME, row["refreshTokenExpiresAt"])
        if wanted - row["accessTokenExpiresAt"] >= SESSION_EXTEND_EVERY:
            await tokens.extend_access(db, access_token, wanted)
    return user


async def end_session(db: AsyncDatabase, access_token: str) -> None:
    """Sign one browser out: its session token stops working at once."""
    await tokens.delete_session(db, access_token)


def csrf_token(secret: str, access_token: str) -> str:
    return hmac.new(secret.encode(), access_token.encode(), hashlib.sha256).hexdigest()


async def installation_secret(request: Request, db: AsyncDatabase) -> str:
    """The `_webSecret` server parameter, read once per process and kept on the app state."""
    state = request.app.state
    secret: str | None = getattr(state, "web_secret", None)
    if secret is None:
        secret = await server_params.web_secret(db)
        state.web_secret = secret
    return secret


async def issue_session_token(db: AsyncDatabase, user: dict[str, Any], ip: str) -> dict[str, Any]:
    now = utcnow()
    access, refresh = random_hex40(), random_hex40()
    await tokens.insert(
        db,
        tokens.new_token_document(
            user["userEmail"], access, now + ACCESS_TOKEN_LIFETIME, refresh, now + REFRESH_TOKEN_LIFETIME
        ),
    )
    await users.record_login(db, user["userEmail"], now, ip)
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


def client_ip(request: Request) -> str:
    forwarded = request.headers.get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    return request.client.host if request.client else ""


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


async def _user_for_password(db: AsyncDatabase, username: str, password: str) -> dict[str, Any] | None:
    # a one-time string is sent as both username and password (spec 1.4)
    if await onetime_urls.exists(db, password):
        if username != password:
            return None
        entry = await onetime_urls.take(db, password)
        return await users.find(db, entry["userEmail"]) if entry else None
    candidates = await users.find_by_email_or_login(db, username)
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
        user = await check_credentials(ctx.db, username, password)
        if user is None:
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
    body = await issue_session_token(ctx.db, user, client_ip(ctx.request))
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

