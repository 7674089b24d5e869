"""`/tasks`: the reader's imports and exports, with live progress, downloads and dismissal."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from circus_api.web.page import page, render
from circus_api.web.session import Session


def task_list(request: Request, session: Session) -> Response:
    return render(request, session, "tasks/list.html", {"title": "Tasks", "page_data": {}})


ROUTES = [page("/tasks", task_list)]
