"""`GET /plugins` and `GET /plugins/:pluginId` (spec 4.9 #37, #38).

bob reads MOCK-EMPTY; alice reads MOCK-EMPTY and MOCK-EMPTY-REMOTE; guest reads nothing.
"""

from __future__ import annotations

from tests.circus_api.conftest import Api

EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
REMOTE = "rmt-d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
SUCCEEDS = "e2cf1a5f82d62f7b3bd02db78e51008f4f11f8b31aedc96bfd50f3d7c80ba6e6"
REFUSED = {"error": "You do not have permission to get this plugin."}


def test_the_list_holds_the_definitions_the_caller_may_read(api: Api) -> None:
    response = api.as_user("bob").get("/api/plugins")
    assert response.status_code == 200
    assert response.json() == [{
        "pluginId": EMPTY,
        "version": "1.0.0",
        "pluginName": "MOCK-EMPTY",
        "description": "MOCK-EMPTY",
        "icon": {"glyph": "brain", "color": "#ffffff", "backgroundColor": "#666666"},
        "type": "CAD",
        "runConfiguration": {},
        "displayStrategy": [],
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
    }]
    assert sorted(p["pluginId"] for p in api.as_user("alice").get("/api/plugins").json()) == [EMPTY, REMOTE]
    assert api.as_user("guest").get("/api/plugins").json() == []


def test_a_reader_gets_one_definition(api: Api) -> None:
    response = api.as_user("alice").get(f"/api/plugins/{REMOTE}")
    assert response.status_code == 200
    assert response.json()["pluginName"] == "MOCK-EMPTY-REMOTE"
    assert response.json()["type"] == "CAD+remote"


def test_one_definition_needs_read_plugin_which_comes_before_404(api: Api) -> None:
    for user, plugin_id in (("guest", EMPTY), ("bob", SUCCEEDS), ("bob", "f" * 64), ("bob", "no-such-plugin")):
        response = api.as_user(user).get(f"/api/plugins/{plugin_id}")
        assert (response.status_code, response.json()) == (401, REFUSED), (user, plugin_id)


def test_plugins_need_authentication(api: Api) -> None:
    assert api.as_user(None).get("/api/plugins").status_code == 401
    assert api.as_user(None).get(f"/api/plugins/{EMPTY}").status_code == 401
