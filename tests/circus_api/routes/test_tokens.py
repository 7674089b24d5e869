"""Permanent tokens: `GET/POST /tokens`, `DELETE /tokens/:tokenId` (spec 1.3, 4.3)."""

from __future__ import annotations

import datetime as dt
import re

from pymongo.database import Database

from tests.circus_api.conftest import Api

GUEST_TOKEN_ID = "01dzrsqnzep54g0s1afph4zxn2"
GUEST_PERMANENT = "459879b7996df924b8bc111e9b7f12c2fbaea804"
ULID = re.compile(r"^[0-9a-z]{26}$")
HEX40 = re.compile(r"^[0-9a-f]{40}$")


def test_creating_a_token_answers_its_id_and_secret(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/tokens", json={"description": "my script"})
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"tokenId", "accessToken"}
    assert ULID.match(body["tokenId"])
    assert HEX40.match(body["accessToken"])

    row = sync_db.tokens.find_one({"accessToken": body["accessToken"]})
    assert row is not None
    assert row["permanentTokenId"] == body["tokenId"]
    assert row["permanentTokenDescription"] == "my script"
    assert row["userId"] == "alice@example.com"
    assert row["clientId"] == "CIRCUS Front UI"
    assert HEX40.match(row["refreshToken"])
    assert row["accessTokenExpiresAt"] == dt.datetime(2100, 12, 31)
    assert row["refreshTokenExpiresAt"] == dt.datetime(2100, 12, 31)


def test_a_new_permanent_token_works_as_a_bearer_token(api: Api) -> None:
    token = api.as_user("bob").post("/api/tokens", json={"description": "ci"}).json()["accessToken"]
    response = api.as_token(token).get("/api/login-info")
    assert response.status_code == 200
    assert response.json() == {"userEmail": "bob@example.com", "loginId": "bob"}


def test_a_permanent_token_survives_logout(api: Api) -> None:
    token = api.as_user("bob").post("/api/tokens", json={"description": "ci"}).json()["accessToken"]
    assert api.as_user("bob").get("/api/logout").status_code == 204
    assert api.as_user("bob").get("/api/login-info").status_code == 401
    response = api.as_token(token).get("/api/login-info")
    assert response.status_code == 200
    assert response.json()["userEmail"] == "bob@example.com"


def test_the_list_shows_the_callers_permanent_tokens_without_secrets(api: Api) -> None:
    response = api.as_user("guest").get("/api/tokens")
    assert response.status_code == 200
    assert response.json() == {
        "items": [{
            "tokenId": GUEST_TOKEN_ID,
            "description": "A permanent token for API access",
            "createdAt": "2020-01-01T00:00:00.000Z",
            "updatedAt": "2020-01-01T00:00:00.000Z",
        }],
        "totalItems": 1,
        "page": 1,
    }


def test_the_list_never_shows_the_access_token_of_a_new_token(api: Api) -> None:
    created = api.as_user("alice").post("/api/tokens", json={"description": "one"}).json()
    response = api.as_user("alice").get("/api/tokens")
    assert response.status_code == 200
    body = response.json()
    assert [(i["tokenId"], i["description"]) for i in body["items"]] == [(created["tokenId"], "one")]
    assert body["totalItems"] == 1
    assert created["accessToken"] not in response.text
    assert set(body["items"][0]) == {"tokenId", "description", "createdAt", "updatedAt"}


def test_the_list_leaves_out_session_tokens_and_other_users_tokens(api: Api) -> None:
    response = api.as_user("alice").get("/api/tokens")
    assert response.status_code == 200
    assert response.json() == {"items": [], "totalItems": 0, "page": 1}


def test_the_list_is_in_creation_order(api: Api) -> None:
    client = api.as_user("alice")
    ids = [client.post("/api/tokens", json={"description": f"t{i}"}).json()["tokenId"] for i in range(3)]
    assert [i["tokenId"] for i in client.get("/api/tokens").json()["items"]] == ids


def test_a_user_may_own_at_most_ten_permanent_tokens(api: Api, sync_db: Database) -> None:
    client = api.as_user("alice")
    for i in range(10):
        assert client.post("/api/tokens", json={"description": f"token {i}"}).status_code == 201
    response = client.post("/api/tokens", json={"description": "one too many"})
    assert response.status_code == 400
    assert response.json() == {"error": "You cannot create more than 10 tokens."}
    assert sync_db.tokens.count_documents({"userId": "alice@example.com", "permanentTokenId": {"$ne": None}}) == 10
    # positive control: the cap is per user
    assert api.as_user("bob").post("/api/tokens", json={"description": "mine"}).status_code == 201


def test_the_cap_counts_tokens_made_before(api: Api) -> None:
    client = api.as_user("guest")  # owns one fixture token
    for i in range(9):
        assert client.post("/api/tokens", json={"description": f"token {i}"}).status_code == 201
    response = client.post("/api/tokens", json={"description": "eleventh"})
    assert response.status_code == 400
    assert response.json() == {"error": "You cannot create more than 10 tokens."}


def test_deleting_a_token_frees_a_place_under_the_cap(api: Api) -> None:
    client = api.as_user("alice")
    ids = [client.post("/api/tokens", json={"description": f"t{i}"}).json()["tokenId"] for i in range(10)]
    assert client.delete(f"/api/tokens/{ids[0]}").status_code == 204
    assert client.post("/api/tokens", json={"description": "again"}).status_code == 201


def test_a_bad_token_description_is_refused(api: Api, sync_db: Database) -> None:
    before = sync_db.tokens.count_documents({})
    cases: list[tuple[dict, str]] = [
        ({}, "required"),
        ({"description": ""}, "minLength"),
        ({"description": "x" * 33}, "maxLength"),
        ({"description": 5}, "type"),
        ({"description": "ok", "accessToken": "a" * 40}, "additionalProperties"),
    ]
    for body, keyword in cases:
        response = api.as_user("alice").post("/api/tokens", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Request data is not correct."
        assert [e["keyword"] for e in response.json()["validationErrors"]] == [keyword], body
    assert sync_db.tokens.count_documents({}) == before


def test_a_description_of_32_characters_is_accepted(api: Api) -> None:
    assert api.as_user("alice").post("/api/tokens", json={"description": "x" * 32}).status_code == 201


def test_deleting_an_own_token_revokes_it(api: Api, sync_db: Database) -> None:
    response = api.as_user("guest").delete(f"/api/tokens/{GUEST_TOKEN_ID}")
    assert response.status_code == 204
    assert response.content == b""
    assert sync_db.tokens.count_documents({"permanentTokenId": GUEST_TOKEN_ID}) == 0
    assert api.as_token(GUEST_PERMANENT).get("/api/login-info").status_code == 401
    assert api.as_user("guest").get("/api/tokens").json()["items"] == []


def test_another_users_token_cannot_be_deleted(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").delete(f"/api/tokens/{GUEST_TOKEN_ID}")
    assert response.status_code == 404
    assert response.json() == {"error": "This token does not exist."}
    assert sync_db.tokens.count_documents({"permanentTokenId": GUEST_TOKEN_ID}) == 1
    assert api.as_token(GUEST_PERMANENT).get("/api/login-info").status_code == 200


def test_even_an_administrator_cannot_delete_another_users_token(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").delete(f"/api/tokens/{GUEST_TOKEN_ID}")
    assert response.status_code == 404
    assert response.json() == {"error": "This token does not exist."}
    assert sync_db.tokens.count_documents({"permanentTokenId": GUEST_TOKEN_ID}) == 1


def test_deleting_an_unknown_token_is_404(api: Api) -> None:
    response = api.as_user("guest").delete("/api/tokens/01hzzzzzzzzzzzzzzzzzzzzzzz")
    assert response.status_code == 404
    assert response.json() == {"error": "This token does not exist."}


def test_a_permanent_token_may_delete_itself(api: Api, sync_db: Database) -> None:
    response = api.as_token(GUEST_PERMANENT).delete(f"/api/tokens/{GUEST_TOKEN_ID}")
    assert response.status_code == 204
    assert sync_db.tokens.count_documents({"permanentTokenId": GUEST_TOKEN_ID}) == 0


def test_token_routes_need_authentication(api: Api, sync_db: Database) -> None:
    for method, url in (("GET", "/api/tokens"), ("POST", "/api/tokens"), ("DELETE", f"/api/tokens/{GUEST_TOKEN_ID}")):
        response = api.as_user(None).request(method, url, json={"description": "x"})
        expected = {"error": "Unauthorized request: no authentication given"}
        assert (response.status_code, response.json()) == (401, expected), (method, url)
    assert sync_db.tokens.count_documents({"permanentTokenId": GUEST_TOKEN_ID}) == 1
    assert sync_db.tokens.count_documents({"permanentTokenId": {"$ne": None}}) == 1
