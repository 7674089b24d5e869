"""Stand-ins for the feature pages other modules will serve (series, cases, plug-in jobs, tasks).

`circus_api/web/pages/__init__.py` lists these LAST, so a real page at the same path (listed
earlier) wins; the owner of a feature page then deletes its entry here.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from circus_api.web.page import page, render
from circus_api.web.session import Session

COMING: dict[str, tuple[str, str]] = {}  # every feature page is served now (series, cases, tasks, jobs)


def placeholder(path: str) -> Route:
    title, description = COMING[path]

    def handler(request: Request, session: Session) -> Response:
        return render(request, session, "placeholder.html", {"title": title, "description": description})

    handler.__name__ = "coming_" + path.strip("/")
    return page(path, handler)


ROUTES = [placeholder(path) for path in COMING]
