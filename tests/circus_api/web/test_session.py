"""The web UI's session cookie and its CSRF protection, over HTTP (circus_api/web/session.py,
circus_api/auth.py): signing in and out, the cookie on /api, sliding expiry, the secret."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Iterator

import httpx
import pytest
from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.auth import csrf_token
from circus_api.settings import Settings
from circus_api.web.session import safe_next
from tests.circus_api.conftest import TOKENS, Api
from tests.circus_fixtures import load_fixtures

CSRF_REFUSED = {"error": "Missing or invalid CSRF token."}


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def sign_in(client: TestClient, username: str = "bob", password: str = "bobSecret", **form: str) -> httpx.Response:
    return client.post("/signin", data={"username": username, "password": password, **form}, follow_redirects=False)


def cookie_of(client: TestClient) -> str:
    return str(client.cookies["circus_session"])


def secret_of(sync_db: Database) -> str:
    return str(sync_db.serverParams.find_one({"key": "_webSecret"})["value"])


def csrf_of(client: TestClient) -> str:
    """The CSRF token a page of the signed-in session carries (what api.js sends)."""
    page = client.get("/preferences").text
    return page.split('<meta name="csrf-token" content="')[1].split('"')[0]


@pytest.fixture
def browser(api: Api) -> TestClient:
    """The app's client, to be used like a browser: cookies kept, no Authorization header."""
    return api.client


# ---- signing in ------------------------------------------------------------------------------


def test_signing_in_issues_a_session_token_like_the_password_grant(browser: TestClient, sync_db: Database) -> None:
    response = sign_in(browser, next="/admin")

    assert response.status_code == 303
    assert response.headers["location"] == "/admin"
    row = sync_db.tokens.find_one({"accessToken": cookie_of(browser)})
    assert row["userId"] == "bob@example.com"
    assert row["clientId"] == "CIRCUS Front UI" and row["permanentTokenId"] is None
    assert dt.timedelta(minutes=59) < row["accessTokenExpiresAt"] - _now() <= dt.timedelta(hours=1)
    assert dt.timedelta(days=13) < row["refreshTokenExpiresAt"] - _now() <= dt.timedelta(days=14)
    user = sync_db.users.find_one({"userEmail": "bob@example.com"})
    assert _now() - user["lastLoginTime"] < dt.timedelta(minutes=1)


def test_the_cookie_is_httponly_samesite_lax_and_a_browser_session_cookie(browser: TestClient) -> None:
    header = sign_in(browser).headers["set-cookie"]

    parts = [p.strip().lower() for p in header.split(";")]
    assert parts[0].startswith("circus_session=")
    assert {"httponly", "path=/", "samesite=lax"} <= set(parts)
    assert not any(p.startswith(("max-age", "expires")) or p == "secure" for p in parts)


def test_the_cookie_is_secure_over_https(app_settings: Settings, sync_db: Database) -> None:
    load_fixtures(sync_db)
    with TestClient(create_app(app_settings), base_url="https://testserver") as client:
        header = sign_in(client).headers["set-cookie"].lower()

    assert "; secure" in header


@pytest.mark.parametrize(("username", "password"), [
    ("bob", "wrong"), ("nobody", "bobSecret"), ("eve", "eveSecret"), ("", ""), ("bob", ""),
])
def test_refused_credentials_show_the_form_again_without_a_cookie(
    browser: TestClient, sync_db: Database, username: str, password: str
) -> None:
    sessions = sync_db.tokens.count_documents({})

    response = sign_in(browser, username, password)

    assert response.status_code == 400
    assert "The login ID or password is not correct, or the account is disabled." in response.text
    assert "set-cookie" not in response.headers
    assert sync_db.tokens.count_documents({}) == sessions


def test_the_email_signs_in_too(browser: TestClient) -> None:
    assert sign_in(browser, "bob@example.com").status_code == 303


def test_a_one_time_string_signs_in_as_both_login_and_password(api: Api, browser: TestClient) -> None:
    onetime = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "guest@example.com"})
    string = onetime.json()["onetimeString"]

    assert sign_in(browser, string, string).status_code == 303
    assert browser.get("/api/login-info").json()["userEmail"] == "guest@example.com"


def test_a_sign_in_posted_from_another_site_is_refused(browser: TestClient) -> None:
    response = browser.post("/signin", data={"username": "bob", "password": "bobSecret"},
                            headers={"Origin": "https://evil.example"}, follow_redirects=False)

    assert response.status_code == 403
    assert "set-cookie" not in response.headers


def test_a_sign_in_posted_from_this_site_is_accepted(browser: TestClient) -> None:
    response = browser.post("/signin", data={"username": "bob", "password": "bobSecret"},
                            headers={"Origin": "http://testserver"}, follow_redirects=False)

    assert response.status_code == 303


@pytest.mark.parametrize(("target", "expected"), [
    ("/admin/users?page=2", "/admin/users?page=2"),
    ("/", "/"),
    ("", "/series"),
    ("https://evil.example/", "/series"),
    ("//evil.example/", "/series"),
    ("/\\evil.example", "/series"),
    ("javascript:alert(1)", "/series"),
    ("/ok\r\nSet-Cookie: x=y", "/series"),
])
def test_only_relative_next_targets_on_this_site_are_followed(browser: TestClient, target: str, expected: str) -> None:
    assert sign_in(browser, next=target).headers["location"] == expected


def test_safe_next_keeps_paths_and_refuses_everything_else() -> None:
    assert safe_next("/cases?x=1#y") == "/cases?x=1#y"
    assert safe_next(None) == "/"
    assert safe_next("http:/x") == "/"
    assert safe_next("/x", default="/y") == "/x"


def test_the_sign_in_page_of_a_signed_in_reader_goes_on_to_next(browser: TestClient) -> None:
    sign_in(browser)

    response = browser.get("/signin?next=/preferences", follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/preferences")


# ---- pages ------------------------------------------------------------------------------------


def test_a_page_asked_for_without_a_session_redirects_to_sign_in_with_next(browser: TestClient) -> None:
    response = browser.get("/admin/users?page=2", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fadmin%2Fusers%3Fpage%3D2"


def test_pages_embed_the_csrf_token_of_their_session_and_are_not_cached(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)

    response = browser.get("/preferences")

    expected = csrf_token(secret_of(sync_db), cookie_of(browser))
    assert f'<meta name="csrf-token" content="{expected}">' in response.text
    assert f'name="csrf_token" value="{expected}"' in response.text  # the sign-out form
    assert response.headers["cache-control"] == "no-store"


def test_admin_pages_need_manage_server(browser: TestClient) -> None:
    sign_in(browser, "bob", "bobSecret")
    refused = browser.get("/admin/users")
    sign_in(browser, "alice", "aliceSecret")
    allowed = browser.get("/admin/users")

    assert refused.status_code == 403 and "Not allowed" in refused.text
    assert allowed.status_code == 200 and "<h1>Users</h1>" in allowed.text


def test_an_unknown_page_is_an_html_404_for_browsers_and_json_for_the_api(browser: TestClient) -> None:
    page = browser.get("/no-such-page", headers={"Accept": "text/html,application/xhtml+xml"})
    api = browser.get("/api/no-such-route", headers={"Accept": "text/html"})

    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "There is no page at this address." in page.text
    assert (api.status_code, api.json()) == (404, {"error": "Not found"})


def test_static_files_are_revalidated_by_browsers(browser: TestClient) -> None:
    response = browser.get("/static/js/api.js")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-cache"
    assert "X-CSRF-Token" in response.text


# ---- the cookie on /api and CSRF ---------------------------------------------------------------


def test_the_cookie_authenticates_api_reads(browser: TestClient) -> None:
    sign_in(browser)

    assert browser.get("/api/login-info").json() == {"userEmail": "bob@example.com", "loginId": "bob"}


@pytest.mark.parametrize(("method", "url", "body"), [
    ("PATCH", "/api/preferences", {"theme": "mode_black"}),
    ("POST", "/api/tokens", {"description": "x"}),
    ("PUT", "/api/admin/plugin-job-manager/switch", {"status": "stopped"}),
    ("DELETE", "/api/tokens/01dzrsqnzep54g0s1afph4zxn2", None),
])
def test_cookie_authenticated_changes_without_the_csrf_header_are_403(
    browser: TestClient, sync_db: Database, method: str, url: str, body: dict | None
) -> None:
    sign_in(browser, "alice", "aliceSecret")

    response = browser.request(method, url, json=body)
    wrong = browser.request(method, url, json=body, headers={"X-CSRF-Token": "f" * 64})

    assert (response.status_code, response.json()) == (403, CSRF_REFUSED)
    assert (wrong.status_code, wrong.json()) == (403, CSRF_REFUSED)
    assert sync_db.users.find_one({"loginId": "alice"})["preferences"]["theme"] == "mode_white"


def test_the_csrf_header_of_the_session_lets_changes_through(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    header = {"X-CSRF-Token": csrf_of(browser)}
    assert header["X-CSRF-Token"] == csrf_token(secret_of(sync_db), cookie_of(browser))

    response = browser.patch("/api/preferences", json={"theme": "mode_black"}, headers=header)

    assert response.status_code == 204
    assert sync_db.users.find_one({"loginId": "bob"})["preferences"]["theme"] == "mode_black"


def test_another_sessions_csrf_token_is_refused(api: Api, browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    csrf_of(browser)
    other = csrf_token(secret_of(sync_db), TOKENS["bob"])

    response = browser.patch("/api/preferences", json={"theme": "mode_black"}, headers={"X-CSRF-Token": other})

    assert response.status_code == 403


def test_a_bearer_token_needs_no_csrf_header_and_wins_over_the_cookie(browser: TestClient) -> None:
    sign_in(browser)  # bob's cookie

    response = browser.get("/api/login-info", headers={"Authorization": f"Bearer {TOKENS['carol']}"})
    change = browser.patch("/api/preferences", json={"theme": "mode_black"},
                           headers={"Authorization": f"Bearer {TOKENS['carol']}"})

    assert response.json()["userEmail"] == "carol@example.com"
    assert change.status_code == 204


def test_an_expired_session_is_401_on_the_api_and_a_redirect_on_pages(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    sync_db.tokens.update_one({"accessToken": cookie_of(browser)},
                              {"$set": {"accessTokenExpiresAt": _now() - dt.timedelta(seconds=1)}})

    api = browser.get("/api/login-info")
    page = browser.get("/preferences", follow_redirects=False)

    assert (api.status_code, api.json()) == (401, {"error": "Invalid token: access token is invalid or has expired"})
    assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=")


def test_an_active_session_slides_forward(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    token = cookie_of(browser)
    soon = _now() + dt.timedelta(minutes=10)
    sync_db.tokens.update_one({"accessToken": token}, {"$set": {"accessTokenExpiresAt": soon}})

    browser.get("/api/login-info")

    expires = sync_db.tokens.find_one({"accessToken": token})["accessTokenExpiresAt"]
    assert dt.timedelta(minutes=59) < expires - _now() <= dt.timedelta(hours=1)


def test_a_session_never_slides_past_its_refresh_expiry(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    token = cookie_of(browser)
    end = _now() + dt.timedelta(minutes=20)
    sync_db.tokens.update_one({"accessToken": token}, {"$set": {
        "accessTokenExpiresAt": _now() + dt.timedelta(minutes=5), "refreshTokenExpiresAt": end}})

    browser.get("/preferences")

    assert abs(sync_db.tokens.find_one({"accessToken": token})["accessTokenExpiresAt"] - end) < dt.timedelta(seconds=1)


def test_a_fresh_session_is_not_rewritten_on_every_request(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    token = cookie_of(browser)
    before = sync_db.tokens.find_one({"accessToken": token})["accessTokenExpiresAt"]

    browser.get("/api/login-info")

    assert sync_db.tokens.find_one({"accessToken": token})["accessTokenExpiresAt"] == before


def test_a_disabled_user_loses_their_web_session(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    sync_db.users.update_one({"loginId": "bob"}, {"$set": {"loginEnabled": False}})

    assert browser.get("/api/login-info").status_code == 401
    assert browser.get("/preferences", follow_redirects=False).status_code == 303


# ---- signing out -------------------------------------------------------------------------------


def test_signing_out_deletes_this_session_only(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    token = cookie_of(browser)

    response = browser.post("/signout", data={"csrf_token": csrf_of(browser)}, follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/signin")
    assert 'circus_session=""' in response.headers["set-cookie"] or "Max-Age=0" in response.headers["set-cookie"]
    assert sync_db.tokens.find_one({"accessToken": token}) is None
    assert sync_db.tokens.find_one({"accessToken": TOKENS["bob"]}) is not None  # bob's other session stays
    assert "circus_session" not in browser.cookies


def test_signing_out_without_the_forms_csrf_token_is_refused(browser: TestClient, sync_db: Database) -> None:
    sign_in(browser)
    token = cookie_of(browser)

    response = browser.post("/signout", data={"csrf_token": "nope"}, follow_redirects=False)

    assert response.status_code == 403
    assert sync_db.tokens.find_one({"accessToken": token}) is not None


def test_signing_out_without_a_session_just_goes_to_sign_in(browser: TestClient) -> None:
    response = browser.post("/signout", follow_redirects=False)

    assert (response.status_code, response.headers["location"]) == (303, "/signin")


# ---- the installation secret -------------------------------------------------------------------


def test_the_secret_is_made_once_and_hidden_from_the_admin_routes(
    api: Api, browser: TestClient, sync_db: Database
) -> None:
    sign_in(browser)
    csrf_of(browser)
    sign_in(browser, "carol", "carolSecret")
    csrf_of(browser)
    admin = api.as_user("alice")

    assert sync_db.serverParams.count_documents({"key": "_webSecret"}) == 1
    assert len(secret_of(sync_db)) == 64
    assert "_webSecret" not in admin.get("/api/admin/server-params").json()
    assert admin.get("/api/admin/server-params/_webSecret").status_code == 404
    refused = admin.put("/api/admin/server-params", json={"_webSecret": "mine"})
    assert (refused.status_code, refused.json()) == (
        400, {"error": 'Server parameter names starting with "_" are reserved: _webSecret'})
    assert admin.put("/api/admin/server-params/_other", json=["x"]).status_code == 400


def test_the_csrf_token_is_the_hmac_of_the_access_token() -> None:
    expected = hmac.new(b"secret", b"token", hashlib.sha256).hexdigest()

    assert csrf_token("secret", "token") == expected
    assert csrf_token("secret", "other") != expected
    assert csrf_token("another", "token") != expected


@pytest.fixture
def two_apps(app_settings: Settings, sync_db: Database) -> Iterator[tuple[TestClient, TestClient]]:
    load_fixtures(sync_db)
    with TestClient(create_app(app_settings)) as one, TestClient(create_app(app_settings)) as two:
        yield one, two


def test_every_api_node_accepts_the_csrf_token_of_another(two_apps: tuple[TestClient, TestClient]) -> None:
    one, two = two_apps
    sign_in(one)
    token = csrf_of(one)
    two.cookies.set("circus_session", cookie_of(one))

    response = two.patch("/api/preferences", json={"referenceLine": True}, headers={"X-CSRF-Token": token})

    assert response.status_code == 204
