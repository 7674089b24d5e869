"""`POST /admin/onetime-urls` (spec 1.4, 4.14) and logging in with the string it issues."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from pymongo.database import Database

from tests.circus_api.conftest import Api

ONETIME = re.compile(r"^[0-9a-z]{32}$")
ULID = re.compile(r"^[0-9a-z]{26}$")


def test_issuing_needs_the_issue_onetime_privilege(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        response = api.as_user(user).post("/api/admin/onetime-urls", json={"user": "bob"})
        assert response.status_code == 401
        assert response.json() == {
            "error": "You do not have sufficient privilege to access this resource. issueOnetime"
        }
    assert sync_db.onetimeUrls.count_documents({}) == 1  # the fixture one


def test_issuing_needs_authentication(api: Api) -> None:
    response = api.as_user(None).post("/api/admin/onetime-urls", json={"user": "bob"})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


@pytest.mark.parametrize("name", ["bob@example.com", "bob"])
def test_an_issuer_gets_a_one_time_string_for_a_user(api: Api, sync_db: Database, name: str) -> None:
    response = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": name})
    assert response.status_code == 201
    assert set(response.json()) == {"onetimeString"}
    string = response.json()["onetimeString"]
    assert ONETIME.match(string)

    entry = sync_db.onetimeUrls.find_one({"onetimeString": string}, {"_id": 0})
    assert entry is not None
    assert entry["userEmail"] == "bob@example.com"
    assert ULID.match(entry["onetimeUrlId"])
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert abs(entry["createdAt"] - now) < dt.timedelta(seconds=5)


def test_the_issued_string_logs_the_user_in_exactly_once(api: Api, sync_db: Database) -> None:
    string = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "carol"}).json()["onetimeString"]

    response = api.login(username=string, password=string)
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert api.as_token(token).get("/api/login-info").json() == {"userEmail": "carol@example.com", "loginId": "carol"}
    assert sync_db.onetimeUrls.count_documents({"onetimeString": string}) == 0

    again = api.login(username=string, password=string)
    assert again.status_code == 400
    assert again.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_every_issue_gives_a_different_string(api: Api) -> None:
    client = api.as_user("alice")
    strings = {client.post("/api/admin/onetime-urls", json={"user": "bob"}).json()["onetimeString"]
               for _ in range(3)}
    assert len(strings) == 3


def test_an_unknown_user_is_404(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "nobody"})
    assert response.status_code == 404
    assert response.json() == {"error": "The specified user was not found."}
    assert sync_db.onetimeUrls.count_documents({}) == 1


def test_the_user_is_matched_exactly(api: Api) -> None:
    response = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "Bob"})
    assert response.status_code == 404
    assert response.json() == {"error": "The specified user was not found."}


def test_a_name_matching_two_users_is_404(api: Api, sync_db: Database) -> None:
    # zoe's login ID is bob's e-mail address: the name is ambiguous
    sync_db.users.insert_one({**sync_db.users.find_one({"userEmail": "guest@example.com"}, {"_id": 0}),
                              "userEmail": "zoe@example.com", "loginId": "bob@example.com"})
    response = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "bob@example.com"})
    assert response.status_code == 404
    assert response.json() == {"error": "The specified user was not found."}


def test_a_disabled_user_gets_no_one_time_string(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/onetime-urls", json={"user": "eve"})
    assert response.status_code == 400
    assert response.json() == {"error": "The specified user is disabled."}
    assert sync_db.onetimeUrls.count_documents({"userEmail": "eve@example.com"}) == 0


def test_a_bad_issue_body_is_refused(api: Api, sync_db: Database) -> None:
    cases: list[tuple[dict, str]] = [({}, "required"), ({"user": ""}, "minLength"), ({"user": 5}, "type"),
                                     ({"user": "bob", "ttl": 600}, "additionalProperties")]
    for body, keyword in cases:
        response = api.as_user("alice").post("/api/admin/onetime-urls", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Request data is not correct."
        assert [e["keyword"] for e in response.json()["validationErrors"]] == [keyword], body
    assert sync_db.onetimeUrls.count_documents({}) == 1
