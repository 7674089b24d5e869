"""The web interface served at `/` by the API's own process (server-rendered pages + small ES modules).

Layout:
  session.py         the sign-in cookie, the signed-in `Session`, CSRF checks for forms
  page.py            `page()` routes, `render()`, the header navigation `NAV`, error pages
  pages/<name>.py    one module per area, each exporting ROUTES (pages/__init__.py lists them)
  templates/         Jinja2: base.html (header, navigation, banner, blocks), one file per page
  static/            css/app.css; js/ (api, dom, format, keys, table, forms; pages/<page>.js)
"""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount

from circus_api.web.page import STATIC_DIR, StaticAssets
from circus_api.web.pages import ROUTES as PAGE_ROUTES


def web_routes() -> list[BaseRoute]:
    """The pages and `/static`, to be listed after the API routers."""
    return [Mount("/static", app=StaticAssets(directory=STATIC_DIR), name="static"), *PAGE_ROUTES]
