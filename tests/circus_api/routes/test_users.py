"""`GET /users/:userEmail` (spec 4.3): the public profile any user may read."""

from __future__ import annotations

from pymongo.database import Database

from tests.circus_api.conftest import Api


def test_any_user_may_read_another_users_public_profile(api: Api) -> None:
    response = api.as_user("guest").get("/api/users/alice@example.com")
    assert response.status_code == 200
    assert response.json() == {
        "userEmail": "alice@example.com",
        "loginId": "alice",
        "description": "Alice",
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
    }


def test_the_profile_never_shows_private_fields(api: Api) -> None:
    body = api.as_user("bob").get("/api/users/dave@example.com").json()
    for private in ("password", "groups", "preferences", "myLists", "lastLoginIp", "lastLoginTime", "loginEnabled"):
        assert private not in body


def test_the_email_may_be_url_encoded(api: Api) -> None:
    response = api.as_user("guest").get("/api/users/bob%40example.com")
    assert response.status_code == 200
    assert response.json()["loginId"] == "bob"


def test_the_email_is_matched_exactly(api: Api) -> None:
    response = api.as_user("guest").get("/api/users/Alice@example.com")
    assert response.status_code == 404
    assert response.json() == {"error": "This user does not exist."}


def test_an_unknown_user_is_404(api: Api) -> None:
    response = api.as_user("alice").get("/api/users/nobody@example.com")
    assert response.status_code == 404
    assert response.json() == {"error": "This user does not exist."}


def test_the_login_id_does_not_address_a_user(api: Api) -> None:
    response = api.as_user("alice").get("/api/users/bob")
    assert response.status_code == 404
    assert response.json() == {"error": "This user does not exist."}


def test_a_profile_shows_the_current_update_time(api: Api, sync_db: Database) -> None:
    assert api.as_user("alice").patch("/api/preferences", json={"theme": "mode_black"}).status_code == 204
    body = api.as_user("guest").get("/api/users/alice@example.com").json()
    assert body["updatedAt"] > body["createdAt"]


def test_profiles_need_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/users/alice@example.com")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}
