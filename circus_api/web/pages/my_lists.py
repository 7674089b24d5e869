"""`/my-lists`: the reader's own my lists (series, cases, plug-in jobs) and the lists shared with
them; `/my-lists/{id}` opens one list's items in the table of their kind."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from circus_api.web.page import page, render
from circus_api.web.pages.series import reader_data
from circus_api.web.session import Session


def my_lists(request: Request, session: Session) -> Response:
    data = {**reader_data(session), "myListId": request.path_params.get("myListId")}
    return render(request, session, "my-lists/index.html", {"title": "My lists", "page_data": data})


ROUTES = [
    page("/my-lists", my_lists),
    page("/my-lists/{myListId}", my_lists, name="my_list"),
]
