"""`GET/PATCH /preferences` (spec 4.2)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

DEFAULTS: dict[str, Any] = {
    "theme": "mode_white",
    "personalInfoView": False,
    "seriesSearchPresets": [],
    "caseSearchPresets": [],
    "pluginJobSearchPresets": [],
    "referenceLine": False,
    "initailAlphaForNewLabels": 1,
    "windowPropagationScope": "all",
    "interpolationMode": "nearestNeighbor",
    "scrollBars": "none",
    "scrollBarsInfo": {},
    "maintainAspectRatio": False,
    "fixCenterOfGravity": False,
    "dimmedOutlineFor2DLabels": "show",
    "revisionMessageTemplates": [],
    "labelColors": {"useDefault": True, "customColors": []},
}


def _stored(sync_db: Database, user_email: str) -> dict[str, Any]:
    user = sync_db.users.find_one({"userEmail": user_email})
    assert user is not None
    return dict(user["preferences"])


def test_preferences_are_the_defaults_overlaid_with_the_stored_ones(api: Api) -> None:
    response = api.as_user("guest").get("/api/preferences")
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "theme": "mode_black"}


def test_every_preference_key_is_present_even_when_nothing_is_stored(api: Api, sync_db: Database) -> None:
    sync_db.users.update_one({"userEmail": "alice@example.com"}, {"$set": {"preferences": {}}})
    response = api.as_user("alice").get("/api/preferences")
    assert response.status_code == 200
    assert response.json() == DEFAULTS


def test_preferences_need_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/preferences")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_patch_merges_the_given_keys_into_the_stored_preferences(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/preferences", json={"theme": "mode_black", "referenceLine": True})
    assert response.status_code == 204
    assert response.content == b""
    assert _stored(sync_db, "alice@example.com") == {
        "theme": "mode_black",
        "personalInfoView": False,
        "seriesSearchPresets": [],
        "caseSearchPresets": [],
        "pluginJobSearchPresets": [],
        "referenceLine": True,
    }
    assert api.as_user("alice").get("/api/preferences").json() == {
        **DEFAULTS, "theme": "mode_black", "referenceLine": True,
    }


def test_patch_changes_only_the_callers_preferences(api: Api, sync_db: Database) -> None:
    before = _stored(sync_db, "bob@example.com")
    assert api.as_user("alice").patch("/api/preferences", json={"theme": "mode_black"}).status_code == 204
    assert _stored(sync_db, "bob@example.com") == before


def test_patch_replaces_a_nested_object_as_a_whole(api: Api, sync_db: Database) -> None:
    client = api.as_user("alice")
    assert client.patch("/api/preferences", json={"scrollBarsInfo": {"size": "small", "visibility": "hover"}}
                        ).status_code == 204
    assert client.patch("/api/preferences", json={"scrollBarsInfo": {"position": "left"}}).status_code == 204
    assert _stored(sync_db, "alice@example.com")["scrollBarsInfo"] == {"position": "left"}

    colors = {"useDefault": False, "customColors": ["#ff0000", "#00ff7f"]}
    assert client.patch("/api/preferences", json={"labelColors": colors}).status_code == 204
    assert client.get("/api/preferences").json()["labelColors"] == colors


def test_patch_accepts_every_documented_key(api: Api, sync_db: Database) -> None:
    everything = {
        **DEFAULTS,
        "theme": "mode_black",
        "personalInfoView": True,
        "seriesSearchPresets": [{"name": "CT", "condition": {"modality": "CT"}}],
        "initailAlphaForNewLabels": 0.5,
        "windowPropagationScope": "viewer",
        "interpolationMode": "trilinear",
        "scrollBars": "large",
        "scrollBarsInfo": {"size": "large", "position": "bottom", "visibility": "always"},
        "dimmedOutlineFor2DLabels": "infinity",
        "revisionMessageTemplates": ["checked", "fixed"],
    }
    response = api.as_user("bob").patch("/api/preferences", json=everything)
    assert response.status_code == 204
    assert api.as_user("bob").get("/api/preferences").json() == everything


def test_an_unknown_preference_key_is_refused_and_nothing_is_written(api: Api, sync_db: Database) -> None:
    before = _stored(sync_db, "alice@example.com")
    response = api.as_user("alice").patch("/api/preferences", json={"theme": "mode_black", "fontSize": 12})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Request data is not correct."
    assert body["validationErrors"] == [{
        "keyword": "additionalProperties",
        "dataPath": "",
        "schemaPath": "#/additionalProperties",
        "params": {"additionalProperty": "fontSize"},
        "message": body["validationErrors"][0]["message"],
    }]
    assert "fontSize" in body["validationErrors"][0]["message"]
    assert _stored(sync_db, "alice@example.com") == before


def test_a_bad_preference_value_is_refused(api: Api, sync_db: Database) -> None:
    before = _stored(sync_db, "alice@example.com")
    cases: list[tuple[dict[str, Any], str]] = [
        ({"theme": "mode_pink"}, ".theme"),
        ({"windowPropagationScope": "everything"}, ".windowPropagationScope"),
        ({"dimmedOutlineFor2DLabels": "blink"}, ".dimmedOutlineFor2DLabels"),
        ({"personalInfoView": "yes"}, ".personalInfoView"),
        ({"initailAlphaForNewLabels": 1.5}, ".initailAlphaForNewLabels"),
        ({"initailAlphaForNewLabels": -0.1}, ".initailAlphaForNewLabels"),
        ({"scrollBarsInfo": {"size": "huge"}}, ".scrollBarsInfo.size"),
        ({"scrollBarsInfo": {"opacity": 1}}, ".scrollBarsInfo"),
        ({"labelColors": {"useDefault": False, "customColors": ["#FF0000"]}}, ".labelColors.customColors[0]"),
        ({"labelColors": {"useDefault": False}}, ".labelColors"),
        ({"revisionMessageTemplates": [1]}, ".revisionMessageTemplates[0]"),
        ({"caseSearchPresets": ["CT"]}, ".caseSearchPresets[0]"),
    ]
    for patch, data_path in cases:
        response = api.as_user("alice").patch("/api/preferences", json=patch)
        assert response.status_code == 400, patch
        body = response.json()
        assert body["error"] == "Request data is not correct."
        assert [e["dataPath"] for e in body["validationErrors"]] == [data_path], patch
    assert _stored(sync_db, "alice@example.com") == before


def test_a_bad_enum_value_reports_the_allowed_values(api: Api) -> None:
    response = api.as_user("alice").patch("/api/preferences", json={"interpolationMode": "cubic"})
    assert response.status_code == 400
    [error] = response.json()["validationErrors"]
    assert error["keyword"] == "enum"
    assert error["dataPath"] == ".interpolationMode"
    assert error["params"] == {"allowedValues": ["nearestNeighbor", "trilinear"]}
    assert error["message"].startswith(".interpolationMode ")


def test_an_empty_patch_is_refused(api: Api) -> None:
    response = api.as_user("alice").patch("/api/preferences", json={})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "Request data is not correct."
    assert [e["keyword"] for e in body["validationErrors"]] == ["minProperties"]


def test_a_patch_without_a_body_is_an_empty_patch(api: Api) -> None:
    response = api.as_user("alice").patch("/api/preferences", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert [e["keyword"] for e in response.json()["validationErrors"]] == ["minProperties"]


def test_a_patch_must_be_an_object(api: Api) -> None:
    response = api.as_user("alice").patch("/api/preferences", json=[{"theme": "mode_black"}])
    assert response.status_code == 400
    [error] = response.json()["validationErrors"]
    assert error["keyword"] == "type"
    assert error["params"] == {"type": "object"}


def test_patch_needs_authentication(api: Api) -> None:
    response = api.as_user(None).patch("/api/preferences", json={"theme": "mode_black"})
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}
