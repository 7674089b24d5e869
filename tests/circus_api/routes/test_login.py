"""The OAuth2 token endpoint (spec 1.1, 1.4), bearer authentication (1.2) and logout (1.5)."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import re

import pytest
from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.settings import Settings
from tests.circus_api.conftest import TOKENS, Api

HEX40 = re.compile(r"^[0-9a-f]{40}$")
ALICE_PASSWORD = "aliceSecret"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _session_rows(sync_db: Database, user_email: str) -> list[dict]:
    return list(sync_db.tokens.find({"userId": user_email, "permanentTokenId": None}))


# ---- password grant ----------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/login", "/api/login"])
def test_password_login_with_the_email_issues_a_bearer_token_pair(api: Api, sync_db: Database, url: str) -> None:
    response = api.login(url, username="alice@example.com", password=ALICE_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "Bearer"
    assert HEX40.match(body["access_token"]) and HEX40.match(body["refresh_token"])
    assert 3500 <= body["expires_in"] <= 3600
    assert response.headers["cache-control"] == "no-store"

    row = sync_db.tokens.find_one({"accessToken": body["access_token"]})
    assert row is not None
    assert row["refreshToken"] == body["refresh_token"]
    assert row["userId"] == "alice@example.com"
    assert row["clientId"] == "CIRCUS Front UI"
    assert row["permanentTokenId"] is None
    assert row["permanentTokenDescription"] is None
    assert dt.timedelta(minutes=59) < row["accessTokenExpiresAt"] - _now() <= dt.timedelta(hours=1)
    assert dt.timedelta(days=13) < row["refreshTokenExpiresAt"] - _now() <= dt.timedelta(days=14)
    assert "createdAt" in row and "updatedAt" in row


def test_the_issued_access_token_authenticates_api_requests(api: Api) -> None:
    token = api.login(username="bob@example.com", password="bobSecret").json()["access_token"]
    response = api.as_token(token).get("/api/login-info")
    assert response.status_code == 200
    assert response.json() == {"userEmail": "bob@example.com", "loginId": "bob"}


def test_password_login_accepts_the_login_id(api: Api) -> None:
    response = api.login(username="alice", password=ALICE_PASSWORD)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert api.as_token(token).get("/api/login-info").json()["userEmail"] == "alice@example.com"


def test_client_credentials_may_come_as_http_basic_auth(api: Api) -> None:
    basic = base64.b64encode(b"circus-front:not-a-secret").decode()
    response = api.client.post(
        "/login",
        data={"grant_type": "password", "username": "alice", "password": ALICE_PASSWORD},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert response.status_code == 200
    assert response.json()["token_type"] == "Bearer"


def test_a_wrong_password_is_an_invalid_grant(api: Api, sync_db: Database) -> None:
    before = sync_db.tokens.count_documents({})
    response = api.login(username="alice", password="wrong")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}
    assert sync_db.tokens.count_documents({}) == before
    # positive control: the right password
    assert api.login(username="alice", password=ALICE_PASSWORD).status_code == 200


def test_an_unknown_user_is_the_same_invalid_grant(api: Api) -> None:
    response = api.login(username="nobody@example.com", password=ALICE_PASSWORD)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_the_user_name_is_matched_case_sensitively(api: Api) -> None:
    response = api.login(username="ALICE", password=ALICE_PASSWORD)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_password_longer_than_bcrypt_reads_never_matches(api: Api) -> None:
    response = api.login(username="alice", password=ALICE_PASSWORD + "x" * 80)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_user_whose_login_is_disabled_cannot_log_in(api: Api, sync_db: Database) -> None:
    # eve has loginEnabled: false (spec 1.1 Re-impl)
    response = api.login(username="eve", password="eveSecret")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}
    sync_db.users.update_one({"userEmail": "eve@example.com"}, {"$set": {"loginEnabled": True}})
    assert api.login(username="eve", password="eveSecret").status_code == 200


def test_an_unknown_client_is_refused(api: Api) -> None:
    response = api.login(client_id="someone-else", username="alice", password=ALICE_PASSWORD)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid client: client is invalid"}


def test_a_missing_or_empty_client_secret_means_no_client_credentials(api: Api) -> None:
    for form in ({"client_secret": None}, {"client_secret": ""}, {"client_id": None}, {"client_id": ""}):
        response = api.login(username="alice", password=ALICE_PASSWORD, **form)
        expected = {"error": "Invalid client: cannot retrieve client credentials"}
        assert (response.status_code, response.json()) == (400, expected), form


def test_any_client_secret_is_accepted(api: Api) -> None:
    response = api.login(client_secret="whatever", username="alice", password=ALICE_PASSWORD)
    assert response.status_code == 200


def test_a_missing_parameter_is_a_400_naming_it(api: Api) -> None:
    for missing in ("grant_type", "username", "password"):
        form: dict[str, str | None] = {"username": "alice", "password": ALICE_PASSWORD, missing: None}
        response = api.login(**form)
        assert (response.status_code, response.json()) == (400, {"error": f"Missing parameter: `{missing}`"})
    # an empty value is missing too
    response = api.login(username="", password=ALICE_PASSWORD)
    assert (response.status_code, response.json()) == (400, {"error": "Missing parameter: `username`"})


def test_an_unsupported_grant_type_is_refused(api: Api) -> None:
    response = api.login(grant_type="client_credentials")
    assert response.status_code == 400
    assert response.json() == {"error": "Unsupported grant type: `grant_type` is invalid"}


def test_the_token_endpoint_only_takes_a_url_encoded_form(api: Api) -> None:
    for url in ("/login", "/api/login"):
        response = api.client.post(
            url,
            json={"grant_type": "password", "client_id": "circus-front", "client_secret": "x",
                  "username": "alice", "password": ALICE_PASSWORD},
        )
        assert response.status_code == 400, url
        assert response.json() == {"error": "Invalid request: content must be application/x-www-form-urlencoded"}


def test_the_token_endpoint_without_a_content_type_is_refused(api: Api) -> None:
    response = api.client.post("/login", content=b"grant_type=password")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid request: content must be application/x-www-form-urlencoded"}


def test_the_token_endpoint_needs_no_bearer_token(api: Api) -> None:
    response = api.client.post(
        "/login",
        data={"grant_type": "password", "client_id": "circus-front", "client_secret": "x",
              "username": "alice", "password": ALICE_PASSWORD},
        headers={"Authorization": "Bearer not-a-token"},
    )
    assert response.status_code == 200


# ---- last login -----------------------------------------------------------------------------


def test_a_login_records_the_time_and_client_ip(api: Api, sync_db: Database) -> None:
    before = _now() - dt.timedelta(seconds=1)
    assert api.login(username="alice", password=ALICE_PASSWORD).status_code == 200
    user = sync_db.users.find_one({"userEmail": "alice@example.com"})
    assert user is not None
    assert before <= user["lastLoginTime"] <= _now() + dt.timedelta(seconds=1)
    assert user["lastLoginIp"] == "testclient"


def test_the_login_ip_is_taken_from_x_forwarded_for(api: Api, sync_db: Database) -> None:
    response = api.client.post(
        "/login",
        data={"grant_type": "password", "client_id": "circus-front", "client_secret": "x",
              "username": "alice", "password": ALICE_PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.1"},
    )
    assert response.status_code == 200
    user = sync_db.users.find_one({"userEmail": "alice@example.com"})
    assert user is not None
    assert user["lastLoginIp"] == "203.0.113.7"


def test_a_failed_login_does_not_touch_the_last_login(api: Api, sync_db: Database) -> None:
    assert api.login(username="alice", password="wrong").status_code == 400
    user = sync_db.users.find_one({"userEmail": "alice@example.com"})
    assert user is not None
    assert user["lastLoginIp"] == "0.0.0.0"
    assert user["lastLoginTime"] == dt.datetime(2014, 7, 13, 15, 53, 2, 8000)


# ---- refresh grant ---------------------------------------------------------------------------


def test_a_refresh_issues_a_new_pair_and_deletes_the_old_row(api: Api, sync_db: Database) -> None:
    first = api.login(username="alice", password=ALICE_PASSWORD).json()
    sync_db.users.update_one({"userEmail": "alice@example.com"}, {"$set": {"lastLoginIp": "reset"}})

    response = api.login(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert set(second) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]

    assert sync_db.tokens.find_one({"accessToken": first["access_token"]}) is None
    row = sync_db.tokens.find_one({"accessToken": second["access_token"]})
    assert row is not None and row["userId"] == "alice@example.com"
    # the old access token is dead, the new one works
    assert api.as_token(first["access_token"]).get("/api/login-info").status_code == 401
    assert api.as_token(second["access_token"]).get("/api/login-info").status_code == 200
    # a refresh is a token issue too: the last login is updated
    user = sync_db.users.find_one({"userEmail": "alice@example.com"})
    assert user is not None and user["lastLoginIp"] == "testclient"


def test_a_refresh_token_is_single_use(api: Api) -> None:
    first = api.login(username="alice", password=ALICE_PASSWORD).json()
    assert api.login(grant_type="refresh_token", refresh_token=first["refresh_token"]).status_code == 200
    response = api.login(grant_type="refresh_token", refresh_token=first["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: refresh token is invalid"}


def test_an_unknown_refresh_token_is_an_invalid_grant(api: Api) -> None:
    response = api.login(grant_type="refresh_token", refresh_token="0" * 40)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: refresh token is invalid"}


def test_a_refresh_without_the_token_is_a_missing_parameter(api: Api) -> None:
    response = api.login(grant_type="refresh_token")
    assert response.status_code == 400
    assert response.json() == {"error": "Missing parameter: `refresh_token`"}


def test_an_expired_refresh_token_is_refused(api: Api, sync_db: Database) -> None:
    past = _now() - dt.timedelta(days=1)
    sync_db.tokens.insert_one({
        "accessToken": "a" * 40, "accessTokenExpiresAt": past, "refreshToken": "b" * 40,
        "refreshTokenExpiresAt": past, "clientId": "CIRCUS Front UI", "userId": "alice@example.com",
        "permanentTokenId": None, "permanentTokenDescription": None, "createdAt": past, "updatedAt": past,
    })
    response = api.login(grant_type="refresh_token", refresh_token="b" * 40)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: refresh token has expired"}


def test_the_dummy_refresh_token_of_a_permanent_token_cannot_be_used(api: Api, sync_db: Database) -> None:
    # guest's fixture permanent token
    response = api.login(grant_type="refresh_token", refresh_token="4304e543404f032da71701f27304233e2cafdd3f")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: refresh token is invalid"}
    assert sync_db.tokens.count_documents({"permanentTokenId": "01dzrsqnzep54g0s1afph4zxn2"}) == 1


def test_a_refresh_for_a_disabled_user_is_refused(api: Api, sync_db: Database) -> None:
    pair = api.login(username="alice", password=ALICE_PASSWORD).json()
    sync_db.users.update_one({"userEmail": "alice@example.com"}, {"$set": {"loginEnabled": False}})
    response = api.login(grant_type="refresh_token", refresh_token=pair["refresh_token"])
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: refresh token is invalid"}


# ---- one-time strings ------------------------------------------------------------------------


def _insert_onetime(sync_db: Database, string: str, user_email: str, age: dt.timedelta) -> None:
    created = _now() - age
    sync_db.onetimeUrls.insert_one({
        "onetimeUrlId": "01" + string[:24], "userEmail": user_email, "onetimeString": string,
        "createdAt": created, "updatedAt": created,
    })


def test_a_one_time_string_logs_its_user_in_once(api: Api, sync_db: Database) -> None:
    string = "k" * 32
    _insert_onetime(sync_db, string, "bob@example.com", dt.timedelta(seconds=5))
    response = api.login(username=string, password=string)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert api.as_token(token).get("/api/login-info").json()["userEmail"] == "bob@example.com"
    assert sync_db.onetimeUrls.count_documents({"onetimeString": string}) == 0

    again = api.login(username=string, password=string)
    assert again.status_code == 400
    assert again.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_one_time_string_needs_the_same_string_as_user_name(api: Api, sync_db: Database) -> None:
    string = "m" * 32
    _insert_onetime(sync_db, string, "bob@example.com", dt.timedelta(seconds=5))
    response = api.login(username="bob", password=string)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_one_time_string_older_than_60_seconds_has_expired(api: Api, sync_db: Database) -> None:
    string = "n" * 32
    _insert_onetime(sync_db, string, "bob@example.com", dt.timedelta(seconds=61))
    response = api.login(username=string, password=string)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_the_expired_fixture_one_time_string_does_not_log_in(api: Api) -> None:
    # onetimeUrls.yaml holds one for bob, created in 2020
    response = api.login(username="bgticgmjqprbgdundfklfdmbnr", password="bgticgmjqprbgdundfklfdmbnr")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_one_time_string_of_a_disabled_user_does_not_log_in(api: Api, sync_db: Database) -> None:
    string = "p" * 32
    _insert_onetime(sync_db, string, "eve@example.com", dt.timedelta(seconds=5))
    response = api.login(username=string, password=string)
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


# ---- bearer authentication -------------------------------------------------------------------


def test_an_api_request_without_a_token_is_401(api: Api) -> None:
    response = api.as_user(None).get("/api/login-info")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_a_non_bearer_authorization_header_is_no_authentication(api: Api) -> None:
    response = api.client.get("/api/login-info", headers={"Authorization": f"Basic {TOKENS['alice']}"})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_a_token_in_the_query_string_is_not_accepted(api: Api) -> None:
    response = api.client.get(f"/api/login-info?access_token={TOKENS['alice']}")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_an_unknown_token_is_401(api: Api) -> None:
    response = api.as_token("f" * 40).get("/api/login-info")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token: access token is invalid"}


def test_an_expired_token_is_401(api: Api, sync_db: Database) -> None:
    past = _now() - dt.timedelta(minutes=1)
    sync_db.tokens.insert_one({
        "accessToken": "c" * 40, "accessTokenExpiresAt": past, "refreshToken": "d" * 40,
        "refreshTokenExpiresAt": _now() + dt.timedelta(days=1), "clientId": "CIRCUS Front UI",
        "userId": "alice@example.com", "permanentTokenId": None, "permanentTokenDescription": None,
        "createdAt": past, "updatedAt": past,
    })
    response = api.as_token("c" * 40).get("/api/login-info")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token: access token has expired"}
    # positive control: the fixture token of the same user
    assert api.as_user("alice").get("/api/login-info").status_code == 200


def test_a_token_of_a_deleted_user_is_invalid(api: Api, sync_db: Database) -> None:
    sync_db.users.delete_one({"userEmail": "bob@example.com"})
    response = api.as_user("bob").get("/api/login-info")
    assert response.status_code == 401
    assert response.json() == {"error": "Invalid token: access token is invalid"}


def test_the_bearer_scheme_is_case_insensitive(api: Api) -> None:
    response = api.client.get("/api/login-info", headers={"Authorization": f"bearer {TOKENS['alice']}"})
    assert response.status_code == 200
    assert response.json()["userEmail"] == "alice@example.com"


def test_privileges_are_recomputed_on_every_request(api: Api, sync_db: Database) -> None:
    assert api.as_user("bob").get("/api/admin/groups").status_code == 401
    sync_db.users.update_one({"userEmail": "bob@example.com"}, {"$set": {"groups": [1, 2]}})
    assert api.as_user("bob").get("/api/admin/groups").status_code == 200


# ---- fixed-user mode (spec 1.6) ---------------------------------------------------------------


def test_in_fixed_user_mode_every_request_acts_as_that_user(api: Api, settings: Settings) -> None:
    with TestClient(create_app(dataclasses.replace(settings, fix_user="bob@example.com"))) as client:
        response = client.get("/api/login-info")
        assert response.status_code == 200
        assert response.json() == {"userEmail": "bob@example.com", "loginId": "bob"}
        # another user's token changes nothing, and bob's rights apply
        assert client.get("/api/login-info", headers={"Authorization": f"Bearer {TOKENS['alice']}"}
                          ).json()["userEmail"] == "bob@example.com"
        refused = client.get("/api/admin/groups")
        assert refused.status_code == 401
        assert refused.json() == {"error": "You do not have sufficient privilege to access this resource. manageServer"}


def test_a_fixed_user_that_does_not_exist_is_refused(api: Api, settings: Settings) -> None:
    with TestClient(create_app(dataclasses.replace(settings, fix_user="nobody@example.com"))) as client:
        response = client.get("/api/login-info")
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid token: the fixed user does not exist"}
        assert client.get("/api/status").status_code == 200


# ---- logout ----------------------------------------------------------------------------------


def test_logout_ends_every_session_of_the_user_but_keeps_permanent_tokens(api: Api, sync_db: Database) -> None:
    other_session = api.login(username="guest", password="guestSecret").json()["access_token"]
    assert len(_session_rows(sync_db, "guest@example.com")) == 2

    response = api.as_user("guest").get("/api/logout")
    assert response.status_code == 204
    assert response.content == b""

    assert _session_rows(sync_db, "guest@example.com") == []
    assert api.as_user("guest").get("/api/login-info").status_code == 401
    assert api.as_token(other_session).get("/api/login-info").status_code == 401
    # guest's permanent fixture token survives and still works
    permanent = "459879b7996df924b8bc111e9b7f12c2fbaea804"
    assert sync_db.tokens.count_documents({"accessToken": permanent}) == 1
    assert api.as_token(permanent).get("/api/login-info").json()["userEmail"] == "guest@example.com"


def test_logout_leaves_other_users_sessions_alone(api: Api, sync_db: Database) -> None:
    assert api.as_user("guest").get("/api/logout").status_code == 204
    assert len(_session_rows(sync_db, "alice@example.com")) == 1
    assert api.as_user("alice").get("/api/login-info").status_code == 200


def test_logout_needs_authentication(api: Api, sync_db: Database) -> None:
    before = sync_db.tokens.count_documents({})
    response = api.as_user(None).get("/api/logout")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}
    assert sync_db.tokens.count_documents({}) == before


def test_logout_through_a_permanent_token_keeps_that_token(api: Api, sync_db: Database) -> None:
    permanent = "459879b7996df924b8bc111e9b7f12c2fbaea804"
    assert api.as_token(permanent).get("/api/logout").status_code == 204
    assert _session_rows(sync_db, "guest@example.com") == []
    assert api.as_token(permanent).get("/api/login-info").status_code == 200


def test_the_token_endpoint_refuses_other_methods_with_the_oauth_message(api: Api) -> None:
    for url in ("/login", "/api/login"):
        response = api.as_user(None).get(url)
        assert response.status_code == 400
        assert response.json() == {"error": "Invalid request: method must be POST"}
