"""The web UI's session: the sign-in cookie, who is signed in, and CSRF checks for pages.

A session is an ordinary session token of the `tokens` collection (issued like the OAuth password
grant's, see circus_api/auth.py); its access token lives in the HttpOnly cookie `circus_session`.
Pages embed `csrf_token(secret, access token)` in `<meta name="csrf-token">`; the JavaScript
sends it as `X-CSRF-Token` to `/api`, and HTML forms that post send it as the field `csrf_token`.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from circus_api import auth
from circus_api.privileges import Privileges, compute_privileges, shows_personal_info
from circus_api.schemas.preferences import with_defaults

COOKIE = auth.SESSION_COOKIE
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class Session:
    """The signed-in user of one page request."""

    user: dict[str, Any]
    privileges: Privileges
    access_token: str
    csrf_token: str

    @property
    def user_email(self) -> str:
        return str(self.user["userEmail"])

    @property
    def display_name(self) -> str:
        """The description (CIRCUS shows it as the user's name), else the login ID."""
        return str(self.user.get("description") or self.user.get("loginId") or self.user_email)

    @property
    def group_names(self) -> list[str]:
        return self.privileges.group_names

    @property
    def preferences(self) -> dict[str, Any]:
        return with_defaults(self.user.get("preferences"))

    @property
    def theme(self) -> str:
        """`dark` or `light`, from the `theme` preference (mode_black / mode_white)."""
        return "dark" if self.preferences.get("theme") == "mode_black" else "light"

    @property
    def shows_personal_info(self) -> bool:
        """Spec 2.4 layer 2: the global privilege and the user's own switch, both."""
        return shows_personal_info(self.user, self.privileges)

    def has_global(self, privilege: str) -> bool:
        return self.privileges.has_global(privilege)


async def load_session(request: Request) -> Session | None:
    """The session of the request's cookie (its expiry slides forward), or None."""
    access_token = request.cookies.get(COOKIE)
    if not access_token:
        return None
    db = request.app.state.db
    user = await auth.session_user(db, access_token)
    if user is None:
        return None
    privileges = await compute_privileges(db, user)
    secret = await auth.installation_secret(request, db)
    return Session(user, privileges, access_token, auth.csrf_token(secret, access_token))


async def sign_in(request: Request, username: str, password: str) -> str | None:
    """A new session's access token, or None when the credentials are refused."""
    db = request.app.state.db
    user = await auth.check_credentials(db, username, password)
    if user is None:
        return None
    issued = await auth.issue_session_token(db, user, auth.client_ip(request))
    return str(issued["access_token"])


async def sign_out(request: Request) -> None:
    access_token = request.cookies.get(COOKIE)
    if access_token:
        await auth.end_session(request.app.state.db, access_token)


def set_cookie(response: Response, request: Request, access_token: str) -> None:
    """A browser-session cookie (no Max-Age): the server decides when the session ends."""
    response.set_cookie(
        COOKIE, access_token, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https"
    )


def clear_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=request.url.scheme == "https")


def form_csrf_ok(session: Session, form: FormData) -> bool:
    sent = form.get(CSRF_FIELD)
    return isinstance(sent, str) and hmac.compare_digest(sent, session.csrf_token)


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another site (the `Origin` header);
    a missing header (older browsers, non-browser clients) is accepted."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)


def safe_next(value: str | None, default: str = "/") -> str:
    """A `next=` target that stays on this site: a path starting with one `/`, nothing else."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in value):
        return default
    return value
