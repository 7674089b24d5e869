"""How a web page is declared and rendered: `page()` routes, `render()`, the navigation.

A page module (circus_api/web/pages/<name>.py) exports `ROUTES = [page("/path", handler), ...]`.
`page()` signs the reader in (or redirects to `/signin?next=...`), checks an optional global
privilege (403 page otherwise) and, for POST, the form's CSRF field; the handler then receives
`(request, session)` and returns a Response, usually `render(request, session, "x.html", {...})`.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates
from starlette.types import Scope

from circus_api.auth import CSRF_ERROR
from circus_api.web.session import Session, form_csrf_ok, load_session

HERE = Path(__file__).resolve().parent
TEMPLATE_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

PageHandler = Callable[[Request, Session], Awaitable[Response] | Response]


@dataclass(frozen=True)
class NavItem:
    """One entry of the header's navigation; `prefix` decides which entry is highlighted."""

    label: str
    href: str
    shortcut: str
    privilege: str | None = None

    @property
    def prefix(self) -> str:
        return self.href.rstrip("/")


# The header's navigation, in order. Feature pages own the paths; the entries are here for all.
NAV: tuple[NavItem, ...] = (
    NavItem("Series", "/series", "g s"),
    NavItem("Cases", "/cases", "g c"),
    NavItem("Plug-in jobs", "/jobs", "g j"),
    NavItem("Tasks", "/tasks", "g t"),
    NavItem("Admin", "/admin", "g a", privilege="manageServer"),
)


@functools.cache
def templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR), autoescape=True, trim_blocks=True, lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    return Jinja2Templates(env=env)


class StaticAssets(StaticFiles):
    """`/static`: browsers revalidate every file (a cheap 304), so an upgrade is seen at once."""

    def file_response(self, full_path: Any, stat_result: Any, scope: Scope, status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def nav_items(request: Request, session: Session | None) -> list[dict[str, Any]]:
    if session is None:
        return []
    path = request.url.path
    return [
        {"label": item.label, "href": item.href, "shortcut": item.shortcut,
         "active": path == item.prefix or path.startswith(item.prefix + "/")}
        for item in NAV
        if item.privilege is None or session.has_global(item.privilege)
    ]


def render(
    request: Request,
    session: Session | None,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A template with what base.html needs: `session`, `nav`, `theme`, `page_data` (JSON for
    the page's script, from context key `page_data`)."""
    full = {
        "session": session,
        "nav": nav_items(request, session),
        "theme": session.theme if session else "light",
        "page_data": None,
        **(context or {}),
    }
    response = templates().TemplateResponse(request, template, full, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"  # pages may hold personal information
    return response


def error_page(request: Request, session: Session | None, status_code: int, title: str, message: str) -> HTMLResponse:
    context = {"title": title, "message": message, "status": status_code}
    return render(request, session, "error.html", context, status_code=status_code)


def wants_html(request: Request) -> bool:
    """A browser navigating outside /api (it gets an HTML error page, not the API's JSON)."""
    return not request.url.path.lower().startswith("/api") and "text/html" in request.headers.get("accept", "")


async def not_found_page(request: Request) -> HTMLResponse:
    session = await load_session(request)
    return error_page(request, session, 404, "Not found", "There is no page at this address.")


def signin_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/signin?next=" + quote(target, safe=""), status_code=303)


def page(
    path: str,
    handler: PageHandler,
    *,
    privilege: str | None = None,
    methods: Sequence[str] = ("GET",),
    name: str | None = None,
) -> Route:
    """A signed-in page at `path`; `privilege` names a global privilege the reader must have."""

    async def endpoint(request: Request) -> Response:
        session = await load_session(request)
        if session is None:
            if request.method == "GET":
                return signin_redirect(request)
            return error_page(request, None, 401, "Signed out", "Your session has ended. Sign in again.")
        if privilege is not None and not session.has_global(privilege):
            return error_page(request, session, 403, "Not allowed",
                              "This page needs a privilege your groups do not grant.")
        if request.method not in ("GET", "HEAD") and not form_csrf_ok(session, await request.form()):
            return error_page(request, session, 403, "Not allowed", CSRF_ERROR)
        result = handler(request, session)
        return await result if inspect.isawaitable(result) else result

    return Route(path, endpoint, methods=list(methods), name=name or handler.__name__)
