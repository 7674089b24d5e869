"""`/viewer-test/:seriesUid` (debug mode only): the image viewer alone on a page, for the browser
tests and for trying the viewer out. The page authenticates its requests itself (a token in the
URL fragment, else the web session cookie), so the route is public; it serves a fixed file.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread
from starlette.responses import HTMLResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute

PAGE = Path(__file__).resolve().parent.parent / "web" / "viewer_test.html"


async def viewer_test_page(ctx: RequestContext) -> HTMLResponse:
    html = await anyio.to_thread.run_sync(PAGE.read_text)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


ROUTES = [
    ApiRoute("GET", "/viewer-test/{seriesUid}", viewer_test_page, public=True,
             summary="Debug: the image viewer alone on a page"),
]
