"""Case pages: the search (tags, MHD export, my lists) and one case with the viewer.

Both are shells: their scripts read `/api/cases` and `/api/cases/:caseId`, so every access rule
and every removal of patient information is the API's.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from circus_api.web.page import page, render
from circus_api.web.pages.series import reader_data
from circus_api.web.session import Session


def case_search(request: Request, session: Session) -> Response:
    return render(request, session, "cases/search.html", {"title": "Cases", "page_data": reader_data(session)})


def case_detail(request: Request, session: Session) -> Response:
    case_id = request.path_params["caseId"]
    data = {**reader_data(session), "caseId": case_id}
    return render(request, session, "cases/detail.html", {"title": "Case", "case_id": case_id, "page_data": data})


ROUTES = [
    page("/cases", case_search),
    page("/cases/{caseId}", case_detail),
]
