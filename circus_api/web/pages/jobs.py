"""Plug-in job pages: the job list, a form to start a job, and one job with its results.

All three are shells: their scripts (static/js/pages/jobs.js, job-new.js, job-detail.js) read
`/api/plugin-jobs...`, `/api/plugins` and `/api/series/...`. The handlers only hand the scripts
what the session already knows: the plug-ins the reader may read or run (from the privilege
summary, through the plug-ins service), the reader's plug-in roles and e-mail, and whether
patient information may be shown.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from circus_api.services import plugins as plugins_service
from circus_api.web.page import error_page, page, render
from circus_api.web.session import Session

# a job ID is a lower-case ULID; CIRCUS's `register` CUI accepted [a-zA-Z0-9.]+ (spec 2.4)
JOB_ID = re.compile(r"[A-Za-z0-9.]{1,64}")
SERIES_UID = re.compile(r"[0-9]+(\.[0-9]+)+")
MAX_SERIES = 10


def plugin_summary(plugin: dict[str, Any]) -> dict[str, Any]:
    """What the scripts show of a plug-in (the display strategy is read by the job page)."""
    return {
        "pluginId": plugin["pluginId"],
        "pluginName": plugin.get("pluginName", ""),
        "version": plugin.get("version", ""),
        "type": plugin.get("type", "CAD"),
        "description": plugin.get("description", ""),
        "icon": plugin.get("icon") or {},
    }


def readable_plugins(session: Session) -> list[dict[str, Any]]:
    found = [plugin_summary(p) for p in plugins_service.readable(session.privileges)]
    return sorted(found, key=lambda p: (p["pluginName"].lower(), p["version"]))


def plugin_roles(session: Session) -> dict[str, list[str]]:
    return {entry["pluginId"]: sorted(entry["roles"]) for entry in session.privileges.accessible_plugins}


def executable_ids(session: Session) -> set[str]:
    return set(session.privileges.plugins_with("readPlugin", "executePlugin"))


def job_list(request: Request, session: Session) -> Response:
    data = {
        "plugins": readable_plugins(session),
        "canExecute": bool(executable_ids(session)),
        # patient columns and filters: the global privilege and the reader's own switch, both
        "showPatient": session.shows_personal_info,
    }
    return render(request, session, "jobs/list.html", {"title": "Plug-in jobs", "page_data": data})


def new_job(request: Request, session: Session) -> Response:
    runnable = executable_ids(session)
    series = []
    for uid in request.query_params.getlist("series"):
        uid = uid.strip()
        if SERIES_UID.fullmatch(uid) and len(uid) <= 64 and uid not in series:
            series.append(uid)
    data = {
        "plugins": [p for p in readable_plugins(session) if p["pluginId"] in runnable],
        "series": series[:MAX_SERIES],
        "maxSeries": MAX_SERIES,
        "plugin": request.query_params.get("plugin", ""),
        "showPatient": session.shows_personal_info,
    }
    return render(request, session, "jobs/new.html", {"title": "New plug-in job", "page_data": data})


def job_detail(request: Request, session: Session) -> Response:
    job_id = request.path_params["jobId"]
    if not JOB_ID.fullmatch(job_id):
        return error_page(request, session, 404, "Not found", "There is no plug-in job with this ID.")
    data = {
        "jobId": job_id,
        "userEmail": session.user_email,
        "plugins": readable_plugins(session),
        "roles": plugin_roles(session),
        "showPatient": session.shows_personal_info,
        "mode": request.query_params.get("mode", ""),
    }
    return render(request, session, "jobs/detail.html", {"title": "Plug-in job", "job_id": job_id, "page_data": data})


ROUTES = [
    page("/jobs", job_list),
    page("/jobs/new", new_job),
    page("/jobs/{jobId}", job_detail),
]
