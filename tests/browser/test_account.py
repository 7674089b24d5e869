"""Signing in and out through the pages, and what a session cookie lets a browser do."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import CircusServer, session_cookie, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]


def test_a_wrong_password_is_refused_with_a_message_and_no_cookie(page: Any) -> None:
    page.goto("/signin")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "not her password")
    page.click("button[type=submit]")

    assert page.locator(".signin-card .banner.error").inner_text() == (
        "The login ID or password is not correct, or the account is disabled."
    )
    assert page.url.endswith("/signin")
    assert page.input_value("input[name=username]") == "alice"
    assert [c for c in page.context.cookies() if c["name"] == "circus_session"] == []


def test_a_disabled_account_cannot_sign_in(page: Any) -> None:
    page.goto("/signin")
    page.fill("input[name=username]", "eve")
    page.fill("input[name=password]", "eveSecret")
    page.click("button[type=submit]")

    assert page.locator(".banner.error").is_visible()
    assert page.url.endswith("/signin")


def test_signing_in_shows_the_users_name_and_groups_and_lands_on_series(page: Any) -> None:
    signed_in(page, "bob")

    assert page.url.endswith("/series")
    page.click("#usermenu summary")
    menu = page.locator("#usermenu .menu-head")
    assert "Bob" in menu.inner_text()
    assert "bob@example.com" in menu.inner_text()
    assert menu.locator(".chip").all_inner_texts() == ["powerUser"]


def test_the_session_cookie_is_httponly_and_samesite_lax(page: Any) -> None:
    signed_in(page, "bob")

    cookie = next(c for c in page.context.cookies() if c["name"] == "circus_session")
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["expires"] == -1  # a browser-session cookie
    assert page.evaluate("document.cookie") == ""  # scripts cannot read it


def test_a_page_asked_for_signed_out_comes_back_after_signing_in(page: Any) -> None:
    page.goto("/admin/groups?page=1")
    assert "/signin?next=" in page.url

    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "aliceSecret")
    page.click("button[type=submit]")

    page.wait_for_url("**/admin/groups?page=1")
    assert page.locator("h1").inner_text() == "Groups"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)",
])
def test_a_next_target_off_this_site_is_ignored(page: Any, circus_server: CircusServer, target: str) -> None:
    signed_in(page, "bob", next_path=target)

    assert page.url == f"{circus_server.url}/series"


def test_signing_out_ends_the_session_on_the_server(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "bob")
    token = session_cookie(page)

    page.click("#usermenu summary")
    page.click("text=Sign out")

    page.wait_for_url("**/signin")
    assert [c for c in page.context.cookies() if c["name"] == "circus_session"] == []
    # the old token is dead: neither the cookie nor the bearer header opens anything
    response = httpx.get(f"{circus_server.url}/api/login-info", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401
    page.goto("/preferences")
    assert "/signin?next=%2Fpreferences" in page.url


def test_the_home_page_sends_signed_in_readers_to_series_and_others_to_sign_in(page: Any) -> None:
    page.goto("/")
    assert page.url.endswith("/signin")

    signed_in(page, "guest")
    page.goto("/")
    assert page.url.endswith("/series")
