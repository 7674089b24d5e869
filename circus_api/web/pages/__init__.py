"""Every page route of the web UI, module by module (as app.py lists the API's ROUTES).

To add a feature page: write `circus_api/web/pages/<feature>.py` exporting `ROUTES` (built with
`circus_api.web.page.page`) and list it below, before `placeholders`.
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from circus_api.web.pages import account, admin, cases, jobs, my_lists, placeholders, series, tasks

ROUTES: list[BaseRoute] = [
    *account.ROUTES,
    *admin.ROUTES,
    *jobs.ROUTES,
    # feature pages (series, cases, jobs, tasks, viewer) go here
    *series.ROUTES,
    *cases.ROUTES,
    *tasks.ROUTES,
    *my_lists.ROUTES,
    *placeholders.ROUTES,  # last: a real page at the same path wins
]
