"""The administration pages, as alice (manageServer), and what other users get there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.conftest import CircusServer, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]

GUESTS = 3
MOCK_EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
LUNG = "8883fdef6f5144f50eb2a83cd34baa44"


@pytest.fixture
def admin(page: Any) -> Any:
    return signed_in(page, "alice", next_path="/admin")


@pytest.fixture
def restore_guests_group(circus_server: CircusServer) -> Iterator[None]:
    before = circus_server.db.groups.find_one({"groupId": GUESTS})
    yield
    circus_server.db.groups.replace_one({"groupId": GUESTS}, before)


def dialog(page: Any) -> Any:
    return page.locator("dialog[open]")


def test_the_admin_overview_links_every_section(admin: Any) -> None:
    cards = admin.locator(".cards .card .card-title")

    assert [t.split("\n")[0].strip() for t in cards.all_inner_texts()] == [
        "Users", "Groups", "Projects", "Plug-ins", "Job manager", "Job queue", "Server parameters", "Import quarantine"]
    admin.wait_for_function("() => document.querySelector('[data-figure=users]').textContent.endsWith('users')")


def test_creating_a_user_lists_them_and_they_can_sign_in(
    admin: Any, circus_server: CircusServer, chromium: Any
) -> None:
    admin.goto("/admin/users")
    admin.wait_for_selector("#page-actions button")  # the page's script has bound its shortcuts
    admin.keyboard.press("n")
    form = dialog(admin)
    form.locator("input[name=userEmail]").fill("nina@example.com")
    form.locator("input[name=loginId]").fill("nina")
    form.locator("input[name=description]").fill("Nina Reader")
    form.locator("label:has-text('guests') input").check()
    form.locator("input[name=password]").fill("ninaSecret1")
    form.locator("button[type=submit]").click()

    row = admin.locator("tr[data-key='nina@example.com']")
    row.wait_for()
    assert "Nina Reader" in row.inner_text() and "guests" in row.inner_text() and "enabled" in row.inner_text()
    stored = circus_server.db.users.find_one({"userEmail": "nina@example.com"})
    assert stored["groups"] == [GUESTS] and stored["password"].startswith("$2y$")

    other = chromium.new_context(base_url=circus_server.url)
    try:
        tab = other.new_page()
        tab.goto("/signin")
        tab.fill("input[name=username]", "nina")
        tab.fill("input[name=password]", "ninaSecret1")
        tab.click("button[type=submit]")
        tab.wait_for_url("**/series")
    finally:
        other.close()
    circus_server.db.users.delete_one({"userEmail": "nina@example.com"})


def test_a_refused_user_shows_the_servers_message_in_the_dialog(admin: Any) -> None:
    admin.goto("/admin/users")
    admin.click("text=New user")
    form = dialog(admin)
    form.locator("input[name=userEmail]").fill("alice-again@example.com")
    form.locator("input[name=loginId]").fill("alice")  # taken
    form.locator("input[name=password]").fill("whatever1")
    form.locator("button[type=submit]").click()

    assert form.locator(".banner.error").inner_text().startswith("A user with this loginId already exists.")
    assert form.is_visible()  # nothing is lost: the dialog stays open
    assert admin.locator("#banner").is_hidden()


def test_a_password_reset_takes_effect(admin: Any, circus_server: CircusServer, chromium: Any) -> None:
    admin.goto("/admin/users")
    admin.click("tr[data-key='guest@example.com'] button:has-text('Edit')")
    form = dialog(admin)
    assert form.locator("input[name=password]").input_value() == ""
    form.locator("input[name=password]").fill("guestSecret2")
    form.locator("button[type=submit]").click()
    form.wait_for(state="detached")

    with circus_server.api("alice") as api:
        response = api.post("/login", data={"grant_type": "password", "client_id": "circus-front",
                                             "client_secret": "x", "username": "guest", "password": "guestSecret2"})
        assert response.status_code == 200
        assert api.patch("/api/admin/users/guest@example.com", json={"password": "guestSecret"}).status_code == 204


def test_disabling_a_user_ends_their_web_session(admin: Any, circus_server: CircusServer, chromium: Any) -> None:
    other = chromium.new_context(base_url=circus_server.url)
    try:
        frank = signed_in(other.new_page(), "frank")
        admin.goto("/admin/users")
        admin.click("tr[data-key='frank@example.com'] button:has-text('Disable')")
        admin.locator("tr[data-key='frank@example.com'] .badge:has-text('disabled')").wait_for()
        assert circus_server.db.users.find_one({"loginId": "frank"})["loginEnabled"] is False

        frank.goto("/preferences")
        assert "/signin" in frank.url

        admin.click("tr[data-key='frank@example.com'] button:has-text('Enable')")
        admin.locator("tr[data-key='frank@example.com'] .badge:has-text('enabled')").wait_for()
        assert circus_server.db.users.find_one({"loginId": "frank"})["loginEnabled"] is True
    finally:
        other.close()
        circus_server.db.users.update_one({"loginId": "frank"}, {"$set": {"loginEnabled": True}})


def test_editing_a_group_changes_its_privileges_domains_and_roles(
    admin: Any, circus_server: CircusServer, restore_guests_group: None
) -> None:
    admin.goto("/admin/groups")
    admin.click(f"tr[data-key='{GUESTS}']")
    form = dialog(admin)
    form.locator("label:has-text('Download Volume as Raw File') input").check()
    form.locator("label:has-text('vega.org') input").check()
    form.locator("input[aria-label='Lung nodules: Read']").check()
    form.locator("input[aria-label='MOCK-EMPTY 1.0.0: Execute']").check()
    form.locator("button[type=submit]").click()
    # the server's rule comes back into the dialog, which keeps every choice made
    refusal = form.locator(".banner.error").inner_text()
    assert refusal.startswith(f"executePlugin requires readPlugin, which lacks: {MOCK_EMPTY}")
    form.locator("input[aria-label='MOCK-EMPTY 1.0.0: Read']").check()
    form.locator("button[type=submit]").click()
    form.wait_for(state="detached")

    group = circus_server.db.groups.find_one({"groupId": GUESTS})
    assert group["privileges"] == ["downloadVolume"]
    assert group["domains"] == ["vega.org"]
    assert group["readProjects"] == [LUNG] and group["writeProjects"] == []
    assert group["executePlugin"] == [MOCK_EMPTY] and group["readPlugin"] == [MOCK_EMPTY]
    admin.locator(f"tr[data-key='{GUESTS}']:has-text('Download Volume as Raw File'):has-text('vega.org')").wait_for()


def test_a_plugins_run_configuration_is_edited(admin: Any, circus_server: CircusServer) -> None:
    admin.goto("/admin/plugins")
    admin.click(f"tr[data-key='{MOCK_EMPTY}']")
    form = dialog(admin)
    form.locator("input[name=timeout]").fill("120")
    form.locator("input[name=memory]").fill("2g")
    form.locator("input[name=cpus]").fill("1.5")
    form.locator("button[type=submit]").click()
    form.wait_for(state="detached")

    stored = circus_server.db.pluginDefinitions.find_one({"pluginId": MOCK_EMPTY})["runConfiguration"]
    assert stored == {"timeout": 120, "gpus": "", "memory": "2g", "cpus": 1.5}
    admin.locator(f"tr[data-key='{MOCK_EMPTY}']:has-text('timeout 120 · memory 2g · CPUs 1.5')").wait_for()
    circus_server.db.pluginDefinitions.update_one({"pluginId": MOCK_EMPTY}, {"$set": {"runConfiguration": {}}})


def test_a_bad_memory_size_is_marked_on_its_field(admin: Any) -> None:
    admin.goto("/admin/plugins")
    admin.click(f"tr[data-key='{MOCK_EMPTY}']")
    form = dialog(admin)
    form.locator("input[name=memory]").fill("lots")
    form.locator("button[type=submit]").click()

    error = form.locator("[data-field=memory] .field-error").inner_text()
    assert error == "A size such as 4g, 512m or a number of bytes."


def test_the_job_manager_is_switched_off_and_on(admin: Any, circus_server: CircusServer) -> None:
    admin.goto("/admin/job-manager")
    status = admin.locator("#switch-status")
    admin.wait_for_selector("#switch-button:not([disabled])")
    assert status.inner_text() == "running"
    # the daemon the harness started reports itself
    manager = admin.locator("#managers tbody tr[data-key]")
    assert manager.count() == 1 and "alive" in manager.inner_text()

    admin.click("#switch-button")
    dialog(admin).locator("text=Cancel").click()  # a second thought changes nothing
    assert status.inner_text() == "running"

    admin.click("#switch-button")
    dialog(admin).locator("button[type=submit]").click()
    admin.wait_for_function("() => document.querySelector('#switch-status').textContent === 'stopped'")
    assert circus_server.db.pluginJobManager.find_one({"key": "switch"})["status"] == "stopped"
    assert admin.locator("#switch-button").inner_text() == "Start taking jobs"

    admin.click("#switch-button")
    dialog(admin).locator("button[type=submit]").click()
    admin.wait_for_function("() => document.querySelector('#switch-status').textContent === 'running'")
    switch = circus_server.db.pluginJobManager.find_one({"key": "switch"})
    assert switch["status"] == "running" and switch["changedBy"] == "alice@example.com"


def test_the_job_manager_page_follows_a_switch_made_elsewhere(admin: Any, circus_server: CircusServer) -> None:
    admin.goto("/admin/job-manager")
    admin.wait_for_selector("#switch-button:not([disabled])")

    with circus_server.api("alice") as api:
        assert api.put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"}).status_code == 200
    try:
        admin.wait_for_function("() => document.querySelector('#switch-status').textContent === 'stopped'",
                                timeout=10_000)  # the page refreshes itself every few seconds
    finally:
        with circus_server.api("alice") as api:
            api.put("/api/admin/plugin-job-manager/switch", json={"status": "running"})


def test_a_server_parameter_is_added(admin: Any, circus_server: CircusServer) -> None:
    admin.goto("/admin/server-params")
    admin.click("text=New parameter")
    form = dialog(admin)
    form.locator("input[name=key]").fill("domains")
    form.locator("textarea[name=value]").fill('["sirius.org", "vega.org", "altair.org"]')
    form.locator("button[type=submit]").click()

    admin.locator("tr[data-key=domains]").wait_for()
    stored = circus_server.db.serverParams.find_one({"key": "domains"})
    assert stored["value"] == ["sirius.org", "vega.org", "altair.org"]
    circus_server.db.serverParams.delete_one({"key": "domains"})


def test_the_quarantine_lists_the_refused_upload(admin: Any) -> None:
    admin.goto("/admin/quarantine")
    row = admin.locator("table.grid tbody tr[data-key]").first

    assert "scan-notes.txt" in row.inner_text() and "bob@example.com" in row.inner_text()
    row.click()
    assert "not a DICOM file" in admin.locator("tr.detail").inner_text()


@pytest.mark.parametrize("user", ["bob", "guest", "frank"])
def test_a_user_without_manage_server_sees_no_admin_entry_and_gets_403(page: Any, user: str) -> None:
    signed_in(page, user)

    assert page.locator(".mainnav a").all_inner_texts() == ["Series", "Cases", "Plug-in jobs", "Tasks"]
    for path in ("/admin", "/admin/users", "/admin/job-manager"):
        response = page.goto(path)
        assert response.status == 403
        assert page.locator("h1").inner_text() == "Not allowed"


def test_an_admin_sees_the_admin_entry(admin: Any) -> None:
    assert admin.locator(".mainnav a").all_inner_texts() == ["Series", "Cases", "Plug-in jobs", "Tasks", "Admin"]
    assert admin.locator(".mainnav a.active").inner_text() == "Admin"


def test_keyboard_shortcuts_navigate_and_list_themselves(admin: Any) -> None:
    admin.keyboard.press("g")
    admin.keyboard.press("p")
    admin.wait_for_url("**/preferences")

    admin.keyboard.press("?")
    help_text = dialog(admin).inner_text()
    assert "Go to Series" in help_text and "Go to Admin" in help_text and "Show keyboard shortcuts" in help_text
    admin.keyboard.press("Escape")
    assert dialog(admin).count() == 0
