"""Series pages: the search (with the upload panel) and one series with the viewer.

`/series` is a shell whose script searches `/api/series`; `/series/{uid}` reads the series through
the same service as `GET /api/series/:uid` (so a missing series or a foreign domain is an error
page, and patient information is removed exactly as the API removes it).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from circus_api.errors import CircusError
from circus_api.services import series as series_service
from circus_api.web.page import error_page, page, render
from circus_api.web.session import Session
from circus_api.wire import to_wire


def reader_data(session: Session) -> dict[str, Any]:
    """What the research pages' scripts need to know of the reader, from the session: domains,
    which patient filters are allowed (spec 2.4: the global privilege), the projects and plug-ins
    with the reader's roles (names, tags, no documents' dates)."""
    privileges = session.privileges
    projects = [
        {
            "projectId": entry["projectId"],
            "projectName": entry["project"].get("projectName", entry["projectId"]),
            "roles": entry["roles"],
            "tags": entry["project"].get("tags") or [],
            "icon": entry["project"].get("icon"),
            "description": entry["project"].get("description", ""),
            "windowPresets": entry["project"].get("windowPresets") or [],
        }
        for entry in privileges.accessible_projects
    ]
    plugins = [
        {
            "pluginId": entry["pluginId"],
            "pluginName": entry["plugin"].get("pluginName", entry["pluginId"]),
            "version": entry["plugin"].get("version", ""),
            "description": entry["plugin"].get("description", ""),
            "roles": entry["roles"],
        }
        for entry in privileges.accessible_plugins
    ]
    return {
        "userEmail": session.user_email,
        "domains": privileges.domains,
        "canSearchPatient": session.has_global("personalInfoView"),
        "canDownloadVolume": session.has_global("downloadVolume"),
        "projects": projects,
        "plugins": plugins,
    }


def series_search(request: Request, session: Session) -> Response:
    return render(request, session, "series/search.html", {"title": "Series", "page_data": reader_data(session)})


async def series_detail(request: Request, session: Session) -> Response:
    uid = request.path_params["uid"]
    try:
        series = await series_service.get(request.app.state.db, session.user, session.privileges, uid)
    except CircusError as error:
        title = "Series not found" if error.status_code == 404 else "Not allowed"
        return error_page(request, session, error.status_code, title, error.message)
    data = {**reader_data(session), "series": to_wire(series)}
    title = series.get("seriesDescription") or "Series"
    return render(request, session, "series/detail.html", {"title": title, "series": series, "page_data": data})


ROUTES = [
    page("/series", series_search),
    page("/series/{uid}", series_detail),
]
