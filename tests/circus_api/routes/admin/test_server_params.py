"""`/admin/server-params` (spec 4.14, 6.12)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}
FIXTURE_PARAMS = {"foo": "bar", "color": ["green", "black", "blue"], "defaultDomain": "default"}


def _params(sync_db: Database) -> dict[str, Any]:
    return {doc["key"]: doc["value"] for doc in sync_db.serverParams.find()}


ADMIN_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/server-params", None),
    ("GET", "/api/admin/server-params/foo", None),
    ("PUT", "/api/admin/server-params/foo", {"x": 1}),
    ("PUT", "/api/admin/server-params", {"foo": "baz"}),
]


def test_server_parameters_need_manage_server(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        for method, url, body in ADMIN_REQUESTS:
            response = api.as_user(user).request(method, url, json=body)
            assert (response.status_code, response.json()) == (401, REFUSED), (user, method, url)
    assert _params(sync_db) == FIXTURE_PARAMS
    # positive control: the administrator passes the same requests
    for method, url, body in ADMIN_REQUESTS:
        assert api.as_user("alice").request(method, url, json=body).status_code < 300, (method, url)


def test_an_administrator_reads_every_parameter_as_a_map(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/server-params")
    assert response.status_code == 200
    assert response.json() == FIXTURE_PARAMS


def test_the_map_is_empty_when_nothing_is_set(api: Api, sync_db: Database) -> None:
    sync_db.serverParams.delete_many({})
    response = api.as_user("alice").get("/api/admin/server-params")
    assert response.status_code == 200
    assert response.json() == {}


def test_one_array_parameter_is_sent_as_json(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/server-params/color")
    assert response.status_code == 200
    assert response.json() == ["green", "black", "blue"]


def test_a_string_parameter_is_sent_as_a_json_string(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/server-params/foo")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'"bar"'


def test_any_stored_value_is_sent_as_json(api: Api, sync_db: Database) -> None:
    for value in (None, 12, 2.5, True, {"a": {"b": [1]}}):
        sync_db.serverParams.replace_one({"key": "misc"}, {"key": "misc", "value": value}, upsert=True)
        response = api.as_user("alice").get("/api/admin/server-params/misc")
        assert response.status_code == 200, value
        assert response.headers["content-type"] == "application/json"
        assert response.json() == value


def test_an_unknown_parameter_is_404(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/server-params/nothing")
    assert response.status_code == 404
    assert response.json() == {"error": "This server parameter does not exist."}


def test_putting_one_parameter_creates_it(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").put("/api/admin/server-params/domains", json=["default", "vega.org"])
    assert response.status_code == 204
    assert response.content == b""
    assert api.as_user("alice").get("/api/admin/server-params/domains").json() == ["default", "vega.org"]
    doc = sync_db.serverParams.find_one({"key": "domains"})
    assert doc is not None and "createdAt" in doc and "updatedAt" in doc


def test_putting_one_parameter_replaces_its_value(api: Api, sync_db: Database) -> None:
    value = {"nested": {"deep": [1, 2]}, "flag": False}
    assert api.as_user("alice").put("/api/admin/server-params/color", json=value).status_code == 204
    assert api.as_user("alice").get("/api/admin/server-params/color").json() == value
    assert sync_db.serverParams.count_documents({"key": "color"}) == 1
    assert _params(sync_db) == {**FIXTURE_PARAMS, "color": value}


def test_a_single_parameter_value_must_be_an_object_or_array(api: Api, sync_db: Database) -> None:
    for raw in (b'"plain string"', b"42", b"true", b"null"):
        response = api.as_user("alice").put(
            "/api/admin/server-params/foo", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 400, raw
        assert response.json()["error"].startswith("Invalid JSON as request body.\n")
    assert _params(sync_db) == FIXTURE_PARAMS


def test_putting_the_map_upserts_each_pair_and_keeps_the_rest(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").put(
        "/api/admin/server-params", json={"foo": "baz", "defaultDomain": "vega.org", "limit": 3, "off": None}
    )
    assert response.status_code == 204
    expected = {**FIXTURE_PARAMS, "foo": "baz", "defaultDomain": "vega.org", "limit": 3, "off": None}
    assert api.as_user("alice").get("/api/admin/server-params").json() == expected
    assert _params(sync_db) == expected
    # the new default domain reaches users holding it
    assert api.as_user("bob").get("/api/login-info/full").json()["defaultDomain"] == "vega.org"


def test_putting_an_empty_map_changes_nothing(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").put("/api/admin/server-params", json={})
    assert response.status_code == 204
    assert _params(sync_db) == FIXTURE_PARAMS


def test_the_map_must_be_an_object(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").put("/api/admin/server-params", json=[["foo", "baz"]])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Request data is not correct."
    assert [(e["keyword"], e["params"]) for e in body["validationErrors"]] == [("type", {"type": "object"})]
    assert _params(sync_db) == FIXTURE_PARAMS
