"""The plug-in job pages (circus_api/web/pages/jobs.py): shells whose data comes from the session.

The browser side (start, follow, review, feedback) is tests/browser/test_job_pages.py.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

import pytest

from tests.circus_api.conftest import TOKENS, Api

MOCK_EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
PAGE_DATA = re.compile(r'<script type="application/json" id="page-data">(.*?)</script>', re.S)


def page_data(body: str) -> dict[str, Any]:
    match = PAGE_DATA.search(body)
    assert match, body[:500]
    return dict(json.loads(html.unescape(match.group(1))))


def as_user(api: Api, name: str) -> Api:
    api.client.cookies.set("circus_session", TOKENS[name])
    return api


def test_the_pages_need_a_session(api: Api) -> None:
    for path in ("/jobs", "/jobs/new", "/jobs/01dxgwv3k0medrvhdag4mpw9wa"):
        response = api.client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next=%2Fjobs")


def test_the_job_list_offers_the_readable_plugins(api: Api) -> None:
    response = as_user(api, "bob").client.get("/jobs")
    assert response.status_code == 200
    data = page_data(response.text)
    assert [p["pluginId"] for p in data["plugins"]] == [MOCK_EMPTY]
    assert data["plugins"][0]["pluginName"] == "MOCK-EMPTY"
    assert data["canExecute"] is True
    assert 'href="/jobs/new"' in response.text
    assert "/static/js/pages/jobs.js" in response.text


def test_a_reader_who_may_run_nothing_gets_no_new_job_button(api: Api) -> None:
    response = as_user(api, "frank").client.get("/jobs")  # readPlugin only
    assert response.status_code == 200
    data = page_data(response.text)
    assert data["canExecute"] is False and len(data["plugins"]) == 1
    assert 'href="/jobs/new"' not in response.text


def test_the_new_job_form_keeps_valid_series_uids_and_runnable_plugins(api: Api) -> None:
    response = as_user(api, "bob").client.get(
        "/jobs/new", params=[("series", "1.2.3"), ("series", "<script>"), ("series", "1.2.3"), ("series", " 4.5 ")])
    assert response.status_code == 200
    data = page_data(response.text)
    assert data["series"] == ["1.2.3", "4.5"]
    assert [p["pluginId"] for p in data["plugins"]] == [MOCK_EMPTY]
    frank = page_data(as_user(api, "frank").client.get("/jobs/new").text)
    assert frank["plugins"] == []  # frank may read the plug-in but not run it


@pytest.mark.parametrize(("user", "roles"), [
    ("bob", ["executePlugin", "inputPersonalFeedback", "readPlugin"]),
    ("carol", ["executePlugin", "inputConsensualFeedback", "inputPersonalFeedback", "manageJobs", "readPlugin",
               "viewPersonalInfo"]),
])
def test_the_job_page_knows_the_readers_roles(api: Api, user: str, roles: list[str]) -> None:
    response = as_user(api, user).client.get("/jobs/01dxgwv3k0medrvhdag4mpw9wa?mode=consensual")
    assert response.status_code == 200
    data = page_data(response.text)
    assert data["jobId"] == "01dxgwv3k0medrvhdag4mpw9wa"
    assert data["userEmail"] == f"{user}@example.com"
    assert data["roles"][MOCK_EMPTY] == roles
    assert data["mode"] == "consensual"
    assert "/static/js/pages/job-detail.js" in response.text


def test_a_job_id_that_cannot_exist_is_a_404_page(api: Api) -> None:
    response = as_user(api, "bob").client.get("/jobs/not a job!", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "There is no plug-in job with this ID." in response.text
