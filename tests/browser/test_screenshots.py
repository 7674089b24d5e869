"""Screenshots of the main pages for the README (docs/screenshots/*.png, 1280x800; written there
by `make screenshots`, see `shoot`). The content is made deterministic: the database is reset to the fixtures, times
the server stamps (sign-ins, heartbeats, quarantine) are replaced by fixed ones in the API
responses the pages read, and the browser's clock is fixed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.browser.conftest import CircusServer, shoot, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]

NOW = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)
FIXED_LOGIN = "2026-11-20T08:52:00.000Z"
MOCK_PLUGIN = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
SUCCEEDS_PLUGIN = "e2cf1a5f82d62f7b3bd02db78e51008f4f11f8b31aedc96bfd50f3d7c80ba6e6"


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def rewrite(page: Any, pattern: str, change: Callable[[Any], Any]) -> None:
    """Answer GETs matching `pattern` with the server's JSON passed through `change`."""

    def handle(route: Any) -> None:
        if route.request.method != "GET":
            route.continue_()
            return
        response = route.fetch()
        route.fulfill(response=response, body=json.dumps(change(response.json())),
                      headers={**response.headers, "content-type": "application/json"})

    page.route(pattern, handle)


def fixed_logins(body: dict[str, Any]) -> dict[str, Any]:
    for user in body["items"]:
        if user.get("lastLoginTime", "") > "2021":
            user["lastLoginTime"] = FIXED_LOGIN
    return body


def fixed_managers(body: dict[str, Any]) -> dict[str, Any]:
    for n, manager in enumerate(body["managers"], start=1):
        manager.update(managerId=f"01jfa8k2m4p6r8t0v2x4z6b8d{n}", host="circus-jobs-1", pid=4100 + n,
                       heartbeatAt=iso(NOW - dt.timedelta(seconds=2)), startedAt=iso(NOW - dt.timedelta(hours=3)),
                       slots=2, gpuSlots=1, dockerAvailable=True, dockerMessage="Docker 20.10.24", gpuRuntime=False,
                       runningJobs=["01jf9x6b1qv3d7y2c8k4m5n6p7"], alive=True)
    return body


def fixed_quarantine(body: dict[str, Any]) -> dict[str, Any]:
    for n, item in enumerate(body["items"]):
        item.update(time=iso(NOW - dt.timedelta(minutes=42 + n)), taskId="01jfa0c3e5g7j9k1m3p5r7t9v1",
                    quarantineId=f"01jfa0c3e5g7j9k1m3p5r7t9w{n}")
    return body


def open_as_admin(page: Any, path: str) -> Any:
    page.clock.set_fixed_time(NOW)
    rewrite(page, "**/api/admin/users?*", fixed_logins)
    rewrite(page, "**/api/admin/plugin-job-manager", fixed_managers)
    rewrite(page, "**/api/admin/quarantine?*", fixed_quarantine)
    signed_in(page, "alice", next_path=path)
    settle(page)
    return page


def settle(page: Any) -> None:
    """Wait until every table has loaded and no request is in flight, then fix local times."""
    page.wait_for_load_state("networkidle")
    page.wait_for_function(
        "() => !document.body.classList.contains('busy') && ![...document.querySelectorAll('.dt')]"
        ".some((t) => t.classList.contains('loading') || t.textContent.includes('Loading…'))"
    )
    page.evaluate(
        "() => document.querySelectorAll('time[data-datetime]').forEach((t) => { t.textContent = '2026-11-20 08:52'; })"
    )
    page.mouse.move(0, 0)



def test_screenshot_of_the_sign_in_page(page: Any) -> None:
    page.goto("/signin")
    shoot(page, "signin")


def test_screenshot_of_the_preferences_page(page: Any) -> None:
    open_as_admin(page, "/preferences")
    shoot(page, "preferences")


def test_screenshot_of_the_preferences_page_in_the_dark_theme(page: Any, circus_server: CircusServer) -> None:
    circus_server.db.users.update_one({"loginId": "bob"}, {"$set": {"preferences.theme": "mode_black"}})
    page.clock.set_fixed_time(NOW)
    signed_in(page, "bob", next_path="/preferences")
    settle(page)
    shoot(page, "preferences-dark")
    circus_server.db.users.update_one({"loginId": "bob"}, {"$set": {"preferences.theme": "mode_white"}})


def test_screenshot_of_the_admin_overview(page: Any) -> None:
    open_as_admin(page, "/admin")
    page.wait_for_function("() => document.querySelector('[data-figure=quarantine]').textContent !== ''")
    shoot(page, "admin")


def test_screenshot_of_the_users(page: Any) -> None:
    open_as_admin(page, "/admin/users")
    shoot(page, "admin-users")


def test_screenshot_of_a_group_being_edited(page: Any) -> None:
    open_as_admin(page, "/admin/groups")
    page.click("tr[data-key='2']")
    page.wait_for_selector("dialog[open]")
    shoot(page, "admin-group-edit")


def test_screenshot_of_the_projects(page: Any) -> None:
    open_as_admin(page, "/admin/projects")
    shoot(page, "admin-projects")


def test_screenshot_of_the_plugins(page: Any) -> None:
    open_as_admin(page, "/admin/plugins")
    shoot(page, "admin-plugins")


def test_screenshot_of_the_job_manager(page: Any) -> None:
    open_as_admin(page, "/admin/job-manager")
    page.wait_for_selector("#switch-button:not([disabled])")
    shoot(page, "admin-job-manager")


def test_screenshot_of_the_queue(page: Any, circus_server: CircusServer) -> None:
    db = circus_server.db
    db.pluginJobManager.update_one({"key": "switch"}, {"$set": {"status": "stopped"}}, upsert=True)  # nobody claims
    created = NOW.replace(tzinfo=None)
    jobs = [
        ("01jfb1a2c3d4e5f6g7h8j9k0m1", MOCK_PLUGIN, "bob@example.com", 0, 9),
        ("01jfb1a2c3d4e5f6g7h8j9k0m2", SUCCEEDS_PLUGIN, "carol@example.com", 0, 7),
        ("01jfb1a2c3d4e5f6g7h8j9k0m3", MOCK_PLUGIN, "dave@example.com", 1, 4),
    ]
    for job_id, plugin_id, user, priority, minutes in jobs:
        when = created - dt.timedelta(minutes=minutes)
        series = [{"seriesUid": "111.222.333.444.444", "partialVolumeDescriptor": {"start": 1, "end": 10, "delta": 1}}]
        db.pluginJobs.insert_one({
            "jobId": job_id, "pluginId": plugin_id, "userEmail": user, "status": "in_queue", "priority": priority,
            "series": series, "errorMessage": None, "startedAt": None, "finishedAt": None, "feedbacks": [],
            "createdAt": when, "updatedAt": when,
        })
        db.pluginJobQueue.insert_one({
            "jobId": job_id, "priority": priority, "payload": {"pluginId": plugin_id}, "state": "wait",
            "createdAt": when, "updatedAt": when, "startedAt": None, "owner": None, "leaseUntil": None,
            "attempts": 0, "needsGpu": False,
        })
    try:
        open_as_admin(page, "/admin/queue")
        shoot(page, "admin-queue")
    finally:
        db.pluginJobQueue.delete_many({"jobId": {"$in": [j[0] for j in jobs]}})
        db.pluginJobs.delete_many({"jobId": {"$in": [j[0] for j in jobs]}})
        db.pluginJobManager.update_one({"key": "switch"}, {"$set": {"status": "running"}})


def test_screenshot_of_the_server_parameters(page: Any) -> None:
    open_as_admin(page, "/admin/server-params")
    shoot(page, "admin-server-params")


def test_screenshot_of_the_quarantine(page: Any) -> None:
    open_as_admin(page, "/admin/quarantine")
    page.click("table.grid tbody tr[data-key]")
    shoot(page, "admin-quarantine")
