"""Error bodies and the order of the request pipeline (spec 0.2-0.5)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.settings import Settings
from tests.circus_api.conftest import Api

JSON = {"Content-Type": "application/json"}
LIMIT = 1024 * 1024
ADMIN_REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}


def _preferences(sync_db: Database, user_email: str) -> dict:
    user = sync_db.users.find_one({"userEmail": user_email})
    assert user is not None
    return dict(user["preferences"])


# ---- JSON bodies -----------------------------------------------------------------------------


def test_malformed_json_is_400_with_the_parser_message(api: Api, sync_db: Database) -> None:
    before = _preferences(sync_db, "alice@example.com")
    for raw in (b"{", b'{"theme": mode_black}', b"{'theme': 'mode_black'}", b'{"a":1}x'):
        response = api.as_user("alice").patch("/api/preferences", content=raw, headers=JSON)
        assert response.status_code == 400, raw
        message = response.json()["error"]
        assert message.startswith("Invalid JSON as request body.\n"), raw
        assert len(message) > len("Invalid JSON as request body.\n")
        assert set(response.json()) == {"error"}
    assert _preferences(sync_db, "alice@example.com") == before


def test_a_top_level_primitive_is_rejected_as_invalid_json(api: Api) -> None:
    expected = {"error": "Invalid JSON as request body.\nThe top-level value must be an object or an array."}
    for raw in (b'"mode_black"', b"1", b"true", b"null"):
        response = api.as_user("alice").patch("/api/preferences", content=raw, headers=JSON)
        assert (response.status_code, response.json()) == (400, expected), raw


def test_nan_and_infinity_are_invalid_json_as_in_javascript(api: Api, sync_db: Database) -> None:
    for raw in (b'{"x": NaN}', b'{"x": Infinity}', b'{"x": -Infinity}'):
        response = api.as_user("alice").put("/api/admin/server-params", content=raw, headers=JSON)
        assert response.status_code == 400, raw
        assert response.json()["error"].startswith("Invalid JSON as request body.\n")
    assert sync_db.serverParams.count_documents({"key": "x"}) == 0


def test_an_integer_beyond_64_bits_is_stored_as_a_double_as_javascript_does(api: Api, sync_db: Database) -> None:
    raw = b'{"huge": 99999999999999999999999, "max": 9223372036854775807}'
    response = api.as_user("alice").put("/api/admin/server-params", content=raw, headers=JSON)
    assert response.status_code == 204
    assert sync_db.serverParams.find_one({"key": "huge"})["value"] == 1e23
    assert sync_db.serverParams.find_one({"key": "max"})["value"] == 9223372036854775807


def test_a_body_that_is_not_utf8_is_invalid_json(api: Api) -> None:
    response = api.as_user("alice").patch("/api/preferences", content=b'{"theme": "\xff"}', headers=JSON)
    assert response.status_code == 400
    assert response.json()["error"].startswith("Invalid JSON as request body.\n")


def test_a_missing_body_is_an_empty_object(api: Api) -> None:
    response = api.as_user("alice").post("/api/tokens", headers=JSON)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Request data is not correct."
    assert [e["params"] for e in body["validationErrors"]] == [{"missingProperty": "description"}]


# ---- content type ----------------------------------------------------------------------------


def test_a_body_without_content_type_is_400(api: Api, sync_db: Database) -> None:
    before = _preferences(sync_db, "alice@example.com")
    response = api.as_user("alice").patch("/api/preferences", content=b'{"theme":"mode_black"}')
    assert response.status_code == 400
    assert response.json() == {"error": "Content-type is unspecified."}
    assert _preferences(sync_db, "alice@example.com") == before


def test_a_body_of_another_type_is_415(api: Api, sync_db: Database) -> None:
    before = _preferences(sync_db, "alice@example.com")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", "application/jsonx"):
        response = api.as_user("alice").patch(
            "/api/preferences", content=b'{"theme":"mode_black"}', headers={"Content-Type": content_type}
        )
        expected = {"error": "This endpoint only accepts application/json."}
        assert (response.status_code, response.json()) == (415, expected), content_type
    assert _preferences(sync_db, "alice@example.com") == before


def test_content_type_parameters_and_case_are_ignored(api: Api, sync_db: Database) -> None:
    for content_type, theme in (("application/json; charset=utf-8", "mode_black"), ("Application/JSON", "mode_white"),
                                ("application/json;foo=bar", "mode_black")):
        response = api.as_user("alice").patch(
            "/api/preferences", content=json.dumps({"theme": theme}).encode(), headers={"Content-Type": content_type}
        )
        assert response.status_code == 204, content_type
        assert _preferences(sync_db, "alice@example.com")["theme"] == theme


def test_routes_without_a_body_ignore_the_content_type(api: Api) -> None:
    response = api.as_user("alice").get("/api/login-info", headers={"Content-Type": "text/plain"})
    assert response.status_code == 200
    response = api.as_user("guest").delete("/api/tokens/01dzrsqnzep54g0s1afph4zxn2",
                                           headers={"Content-Type": "text/plain"})
    assert response.status_code == 204


# ---- size limit ------------------------------------------------------------------------------


def _padded(body: dict, size: int) -> bytes:
    raw = json.dumps(body).encode()
    return raw + b" " * (size - len(raw))


def test_a_body_over_one_megabyte_is_413(api: Api, sync_db: Database) -> None:
    before = _preferences(sync_db, "alice@example.com")
    response = api.as_user("alice").patch(
        "/api/preferences", content=_padded({"theme": "mode_black"}, LIMIT + 1), headers=JSON
    )
    assert response.status_code == 413
    assert response.json() == {"error": f"The request body exceeds the limit of {LIMIT} bytes."}
    assert _preferences(sync_db, "alice@example.com") == before


def test_a_body_of_exactly_one_megabyte_is_accepted(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch(
        "/api/preferences", content=_padded({"theme": "mode_black"}, LIMIT), headers=JSON
    )
    assert response.status_code == 204
    assert _preferences(sync_db, "alice@example.com")["theme"] == "mode_black"


def test_a_chunked_body_over_the_limit_is_413(api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"theme": "mode_black"'
        for _ in range(17):
            yield b" " * 65536
        yield b"}"

    response = api.as_user("alice").patch("/api/preferences", content=chunks(), headers=JSON)
    assert response.status_code == 413
    assert response.json() == {"error": f"The request body exceeds the limit of {LIMIT} bytes."}


# ---- pipeline order --------------------------------------------------------------------------


def test_authentication_comes_before_the_content_type_check(api: Api) -> None:
    response = api.as_user(None).patch("/api/preferences", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_the_content_type_check_comes_before_the_privilege_check(api: Api) -> None:
    response = api.as_user("guest").post("/api/admin/groups", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.json() == {"error": "This endpoint only accepts application/json."}


def test_the_privilege_check_comes_before_the_body_is_read(api: Api, sync_db: Database) -> None:
    for raw in (b"{not json", b'"x"', b'{"groupName": 5}', b'{"unknown": true}'):
        response = api.as_user("guest").post("/api/admin/groups", content=raw, headers=JSON)
        assert (response.status_code, response.json()) == (401, ADMIN_REFUSED), raw
        # positive control: an administrator sending the same body hears about the body
        response = api.as_user("alice").post("/api/admin/groups", content=raw, headers=JSON)
        assert response.status_code == 400, raw
    assert sync_db.groups.count_documents({}) == 5


def test_the_privilege_check_comes_before_the_size_limit(api: Api) -> None:
    response = api.as_user("guest").put(
        "/api/admin/server-params", content=_padded({"a": 1}, LIMIT + 1), headers=JSON
    )
    assert response.status_code == 401
    assert response.json() == ADMIN_REFUSED


# ---- nothing is written on refusal -----------------------------------------------------------


def test_an_unknown_field_in_a_new_group_writes_nothing(api: Api, sync_db: Database) -> None:
    body = {"groupName": "g", "privileges": [], "domains": [], "readProjects": [], "writeProjects": [],
            "addSeriesProjects": [], "viewPersonalInfoProjects": [], "moderateProjects": [], "readPlugin": [],
            "executePlugin": [], "manageJobs": [], "inputPersonalFeedback": [], "inputConsensualFeedback": [],
            "manageFeedback": [], "viewPersonalInfo": [], "superpowers": ["flight"]}
    response = api.as_user("alice").post("/api/admin/groups", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert response.json()["validationErrors"][0]["params"] == {"additionalProperty": "superpowers"}
    assert sync_db.groups.count_documents({}) == 5
    assert sync_db.sequences.find_one({"key": "groups"}) is None


def test_an_unknown_field_in_a_new_user_writes_nothing(api: Api, sync_db: Database) -> None:
    body = {"userEmail": "zoe@example.com", "loginId": "zoe", "password": "pw", "loginEnabled": True,
            "description": "", "groups": [], "isAdmin": True}
    response = api.as_user("alice").post("/api/admin/users", json=body)
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["params"] == {"additionalProperty": "isAdmin"}
    assert sync_db.users.count_documents({"userEmail": "zoe@example.com"}) == 0


def test_an_unknown_field_in_preferences_writes_nothing(api: Api, sync_db: Database) -> None:
    before = sync_db.users.find_one({"userEmail": "bob@example.com"})
    response = api.as_user("bob").patch("/api/preferences", json={"theme": "mode_black", "x": 1})
    assert response.status_code == 400
    assert sync_db.users.find_one({"userEmail": "bob@example.com"}) == before


# ---- unmatched routes and server errors ------------------------------------------------------


def test_an_unmatched_route_is_a_json_404(api: Api) -> None:
    for method, url in (("GET", "/api/nothing/here"), ("DELETE", "/api/preferences"), ("POST", "/api/login-info")):
        response = api.as_user("alice").request(method, url)
        assert (response.status_code, response.json()) == (404, {"error": "Not found"}), (method, url)


def test_an_unexpected_failure_is_a_bare_500(api: Api, sync_db: Database) -> None:
    # a corrupt token row (no userId) makes the lookup fail unexpectedly
    sync_db.tokens.insert_one({"accessToken": "e" * 40, "permanentTokenId": "x"})
    response = api.as_token("e" * 40).get("/api/login-info")
    assert response.status_code == 500
    assert response.json() == {"error": "Internal server error."}


def test_in_debug_mode_a_500_carries_the_message_and_stack(api: Api, sync_db: Database, settings: Settings) -> None:
    sync_db.tokens.insert_one({"accessToken": "e" * 40, "permanentTokenId": "x"})
    app = create_app(dataclasses.replace(settings, debug=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/login-info", headers={"Authorization": "Bearer " + "e" * 40})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"error", "stack"}
    assert "userId" in body["error"]
    assert "Traceback" in body["stack"]
