"""The preferences page: the reader's account, and switches that save themselves."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import CircusServer, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]


def saved(page: Any, name: str) -> None:
    page.wait_for_selector(f"[data-state-for={name}].ok")


def test_the_personal_information_switch_persists(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "bob", next_path="/preferences")
    switch = page.locator("#pref-personalInfoView")
    assert switch.is_checked()

    page.click("label:has(#pref-personalInfoView)")
    saved(page, "personalInfoView")
    page.reload()

    assert not page.locator("#pref-personalInfoView").is_checked()
    assert page.locator("label:has(#pref-personalInfoView) .switch-text").inner_text() == "Off"
    assert circus_server.db.users.find_one({"loginId": "bob"})["preferences"]["personalInfoView"] is False
    with circus_server.api("bob") as api:
        assert api.get("/api/preferences").json()["personalInfoView"] is False

    page.click("label:has(#pref-personalInfoView)")
    saved(page, "personalInfoView")
    assert circus_server.db.users.find_one({"loginId": "bob"})["preferences"]["personalInfoView"] is True


def test_without_the_privilege_the_page_says_the_switch_has_no_effect(page: Any) -> None:
    signed_in(page, "frank", next_path="/preferences")

    assert page.locator("#pref-personalInfoView").is_checked()
    assert "has no effect" in page.locator("#personal-info-note").inner_text()


def test_with_the_privilege_there_is_no_such_warning(page: Any) -> None:
    signed_in(page, "bob", next_path="/preferences")

    assert page.locator("#personal-info-note").count() == 0


def test_the_theme_applies_at_once_and_stays(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "carol", next_path="/preferences")
    assert page.get_attribute("html", "data-theme") == "light"

    page.click("text=Dark")
    saved(page, "theme")

    assert page.get_attribute("html", "data-theme") == "dark"
    page.goto("/admin")  # any page: the theme comes with it (carol gets the 403 page)
    assert page.get_attribute("html", "data-theme") == "dark"
    circus_server.db.users.update_one({"loginId": "carol"}, {"$set": {"preferences.theme": "mode_white"}})


def test_the_account_section_shows_name_groups_and_privileges(page: Any) -> None:
    signed_in(page, "carol", next_path="/preferences")
    facts = page.locator("dl.facts")

    assert "Carol" in facts.inner_text()
    assert facts.locator("dd").nth(3).locator(".chip").all_inner_texts() == ["powerUser2"]
    assert facts.locator("dd").nth(4).locator(".chip").all_inner_texts() == [
        "View Personal Info", "Download Volume as Raw File"]
    assert facts.locator("dd").nth(5).locator(".chip").all_inner_texts() == ["vega.org", "altair.org"]


def test_a_new_api_token_is_shown_once_and_works(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "guest", next_path="/preferences")

    page.click("#new-token")
    page.fill("dialog[open] input[name=description]", "browser test")
    page.click("dialog[open] button[type=submit]")
    token = page.locator("dialog[open] code").inner_text()
    page.click("dialog[open] button[type=submit]")

    assert page.locator("#token-table tbody").inner_text().count("browser test") == 1
    response = httpx.get(f"{circus_server.url}/api/login-info", headers={"Authorization": f"Bearer {token}"})
    assert response.json()["userEmail"] == "guest@example.com"
    page.click("#token-table tr:has-text('browser test') button:has-text('Delete')")
    page.click("dialog[open] button[type=submit]")
    page.wait_for_selector("#token-table tr:has-text('browser test')", state="detached")
    revoked = httpx.get(f"{circus_server.url}/api/login-info", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
