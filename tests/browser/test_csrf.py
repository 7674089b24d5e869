"""The session cookie authenticates /api for the pages, and state changes need the CSRF header."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.browser.conftest import CircusServer, session_cookie, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]

FETCH = """async ([method, url, body, headers]) => {
  const response = await fetch(url, { method, headers: { "Content-Type": "application/json", ...headers },
                                      body: body === null ? undefined : JSON.stringify(body) });
  return { status: response.status, body: await response.text() };
}"""


def test_a_cookie_authenticated_change_without_the_csrf_header_is_refused(
    page: Any, circus_server: CircusServer
) -> None:
    signed_in(page, "bob", next_path="/preferences")

    refused = page.evaluate(FETCH, ["PATCH", "/api/preferences", {"theme": "mode_black"}, {}])
    token = page.get_attribute("meta[name=csrf-token]", "content")
    wrong = page.evaluate(FETCH, ["PATCH", "/api/preferences", {"theme": "mode_black"}, {"X-CSRF-Token": "0" * 64}])

    assert refused == {"status": 403, "body": '{"error":"Missing or invalid CSRF token."}'}
    assert wrong["status"] == 403
    assert circus_server.db.users.find_one({"loginId": "bob"})["preferences"]["theme"] == "mode_white"
    # positive control: the page's token lets the same request through
    accepted = page.evaluate(FETCH, ["PATCH", "/api/preferences", {"referenceLine": True}, {"X-CSRF-Token": token}])
    assert accepted == {"status": 204, "body": ""}
    assert circus_server.db.users.find_one({"loginId": "bob"})["preferences"]["referenceLine"] is True
    circus_server.db.users.update_one({"loginId": "bob"}, {"$set": {"preferences.referenceLine": False}})


def test_reads_need_no_csrf_header(page: Any) -> None:
    signed_in(page, "bob")

    read = page.evaluate(FETCH, ["GET", "/api/login-info", None, {}])

    assert read == {"status": 200, "body": '{"userEmail":"bob@example.com","loginId":"bob"}'}


def test_the_csrf_rule_holds_for_any_http_client_with_the_cookie(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "carol")
    cookies = {"circus_session": session_cookie(page)}
    token = page.get_attribute("meta[name=csrf-token]", "content")

    with httpx.Client(base_url=circus_server.url, cookies=cookies) as client:
        assert client.get("/api/login-info").json()["userEmail"] == "carol@example.com"
        refused = client.post("/api/tokens", json={"description": "cookie without csrf"})
        assert (refused.status_code, refused.json()) == (403, {"error": "Missing or invalid CSRF token."})
        created = client.post("/api/tokens", json={"description": "cookie with csrf"}, headers={"X-CSRF-Token": token})
        assert created.status_code == 201
        deleted = client.delete(f"/api/tokens/{created.json()['tokenId']}", headers={"X-CSRF-Token": token})
        assert deleted.status_code == 204


def test_bearer_token_clients_need_no_csrf_header(circus_server: CircusServer) -> None:
    with circus_server.api("bob") as client:
        response = client.patch("/api/preferences", json={"referenceLine": False})

    assert response.status_code == 204


def test_signing_out_by_a_form_from_another_site_is_refused(page: Any, circus_server: CircusServer) -> None:
    signed_in(page, "bob")
    cookies = {"circus_session": session_cookie(page)}

    with httpx.Client(base_url=circus_server.url, cookies=cookies) as client:
        forged = client.post("/signout", data={"csrf_token": "forged"})
        assert forged.status_code == 403
        assert client.get("/api/login-info").status_code == 200  # still signed in
