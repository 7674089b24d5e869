"""`GET /login-info` and `GET /login-info/full` (spec 4.1)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
MOCK_EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
MOCK_EMPTY_REMOTE = "rmt-" + MOCK_EMPTY


def _roles(entries: list[dict[str, Any]], key: str) -> dict[str, set[str]]:
    return {entry[key]: set(entry["roles"]) for entry in entries}


def test_login_info_names_the_current_user(api: Api) -> None:
    response = api.as_user("alice").get("/api/login-info")
    assert response.status_code == 200
    assert response.json() == {"userEmail": "alice@example.com", "loginId": "alice"}


def test_login_info_needs_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/login-info")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


def test_full_login_info_holds_the_user_document_without_the_password(api: Api) -> None:
    response = api.as_user("alice").get("/api/login-info/full")
    assert response.status_code == 200
    body = response.json()
    assert "password" not in body
    assert "_id" not in body
    assert body["userEmail"] == "alice@example.com"
    assert body["loginId"] == "alice"
    assert body["description"] == "Alice"
    assert body["loginEnabled"] is True
    assert body["lastLoginTime"] == "2014-07-13T15:53:02.008Z"
    assert body["lastLoginIp"] == "0.0.0.0"
    assert body["myLists"] == []
    assert body["createdAt"] == "2020-01-01T00:00:00.000Z"
    assert body["updatedAt"] == "2020-01-01T00:00:00.000Z"
    assert set(body) == {
        "userEmail", "loginId", "description", "loginEnabled", "lastLoginTime", "lastLoginIp", "preferences",
        "myLists", "createdAt", "updatedAt", "groups", "domains", "globalPrivileges", "accessibleProjects",
        "accessiblePlugins", "defaultDomain", "sharedMyLists", "dicomImageServer", "uploadFileMax",
        "uploadFileSizeMaxBytes",
    }


def test_full_login_info_shows_preferences_as_stored_not_merged(api: Api) -> None:
    body = api.as_user("guest").get("/api/login-info/full").json()
    assert body["preferences"] == {
        "theme": "mode_black",
        "personalInfoView": False,
        "seriesSearchPresets": [],
        "caseSearchPresets": [],
        "pluginJobSearchPresets": [],
    }


def test_full_login_info_replaces_group_ids_by_group_names(api: Api) -> None:
    assert api.as_user("dave").get("/api/login-info/full").json()["groups"] == ["admin", "powerUser2"]
    assert api.as_user("guest").get("/api/login-info/full").json()["groups"] == ["guests"]


def test_full_login_info_unites_the_privileges_of_every_group(api: Api) -> None:
    body = api.as_user("dave").get("/api/login-info/full").json()
    assert set(body["domains"]) == {"sirius.org", "vega.org", "altair.org"}
    assert len(body["domains"]) == 3
    assert set(body["globalPrivileges"]) == {"manageServer", "personalInfoView", "issueOnetime", "downloadVolume"}
    assert len(body["globalPrivileges"]) == 4
    assert _roles(body["accessibleProjects"], "projectId") == {
        LUNG: {"read", "write", "viewPersonalInfo", "moderate"},
    }
    assert _roles(body["accessiblePlugins"], "pluginId") == {
        MOCK_EMPTY: {"readPlugin", "manageFeedback", "executePlugin", "manageJobs", "inputPersonalFeedback",
                     "inputConsensualFeedback", "viewPersonalInfo"},
        MOCK_EMPTY_REMOTE: {"readPlugin"},
    }


def test_full_login_info_embeds_the_full_project_and_plugin_documents(api: Api) -> None:
    body = api.as_user("bob").get("/api/login-info/full").json()
    [project] = body["accessibleProjects"]
    assert project["projectId"] == LUNG
    assert project["project"]["projectName"] == "Lung nodules"
    assert project["project"]["projectId"] == LUNG
    assert project["project"]["tags"] == [{"caption": "happy", "color": "#ff0000"},
                                          {"caption": "ufo", "color": "#00ff00"}]
    assert "createdAt" in project["project"] and "_id" not in project["project"]
    [plugin] = body["accessiblePlugins"]
    assert plugin["pluginId"] == MOCK_EMPTY
    assert plugin["plugin"]["pluginName"] == "MOCK-EMPTY"


def test_a_user_without_privileges_gets_empty_summaries(api: Api) -> None:
    body = api.as_user("guest").get("/api/login-info/full").json()
    assert body["domains"] == []
    assert body["globalPrivileges"] == []
    assert body["accessibleProjects"] == []
    assert body["accessiblePlugins"] == []


def test_dangling_project_and_group_ids_are_skipped(api: Api, sync_db: Database) -> None:
    sync_db.groups.update_one({"groupId": 2}, {"$push": {"readProjects": "no-such-project"}})
    sync_db.users.update_one({"userEmail": "bob@example.com"}, {"$set": {"groups": [2, 99]}})
    response = api.as_user("bob").get("/api/login-info/full")
    assert response.status_code == 200
    body = response.json()
    assert body["groups"] == ["powerUser"]
    assert [p["projectId"] for p in body["accessibleProjects"]] == [LUNG]


def test_default_domain_is_null_when_the_user_lacks_that_domain(api: Api) -> None:
    # serverParams.yaml: defaultDomain is "default", which no fixture group holds
    assert api.as_user("bob").get("/api/login-info/full").json()["defaultDomain"] is None


def test_default_domain_is_shown_to_users_holding_that_domain(api: Api, sync_db: Database) -> None:
    sync_db.serverParams.update_one({"key": "defaultDomain"}, {"$set": {"value": "vega.org"}})
    assert api.as_user("bob").get("/api/login-info/full").json()["defaultDomain"] == "vega.org"
    assert api.as_user("alice").get("/api/login-info/full").json()["defaultDomain"] is None


def test_default_domain_is_null_when_the_parameter_is_unset(api: Api, sync_db: Database) -> None:
    sync_db.serverParams.delete_one({"key": "defaultDomain"})
    response = api.as_user("bob").get("/api/login-info/full")
    assert response.status_code == 200
    assert response.json()["defaultDomain"] is None


def test_shared_my_lists_name_lists_where_the_user_is_an_editor(api: Api) -> None:
    # Dave's case list names dave and bob as editors
    body = api.as_user("bob").get("/api/login-info/full").json()
    assert body["sharedMyLists"] == [{
        "owner": "dave@example.com",
        "sharedMyList": {
            "myListId": "01ezab6xqfac7hvm5s09yw1g1j",
            "resourceType": "clinicalCases",
            "name": "Dave's case list",
            "public": True,
            "editors": [{"type": "user", "userEmail": "dave@example.com"},
                        {"type": "user", "userEmail": "bob@example.com"}],
            "createdAt": "2014-07-13T15:53:02.123Z",
        },
    }]


def test_shared_my_lists_include_the_callers_own_lists(api: Api) -> None:
    body = api.as_user("dave").get("/api/login-info/full").json()
    assert [(s["owner"], s["sharedMyList"]["myListId"]) for s in body["sharedMyLists"]] == [
        ("dave@example.com", "01ezab6xqfac7hvm5s09yw1g1j"),
    ]


def test_shared_my_lists_are_empty_for_users_editing_nothing(api: Api) -> None:
    assert api.as_user("alice").get("/api/login-info/full").json()["sharedMyLists"] == []


def test_a_group_editor_shares_the_list_with_every_member_of_that_group(api: Api, sync_db: Database) -> None:
    sync_db.users.update_one(
        {"userEmail": "carol@example.com", "myLists.myListId": "01ex36f2n99kjaqvpfrerrsryp"},
        {"$set": {"myLists.$.editors": [{"type": "group", "groupId": 4}]}},
    )
    # dave is in groups 1 and 4: any matching group counts (spec 4.1 Re-impl)
    dave = api.as_user("dave").get("/api/login-info/full").json()
    assert ("carol@example.com", "01ex36f2n99kjaqvpfrerrsryp") in [
        (s["owner"], s["sharedMyList"]["myListId"]) for s in dave["sharedMyLists"]
    ]
    carol = api.as_user("carol").get("/api/login-info/full").json()
    assert [s["sharedMyList"]["name"] for s in carol["sharedMyLists"]] == ["Carol's list"]
    # alice is only in group 1
    assert api.as_user("alice").get("/api/login-info/full").json()["sharedMyLists"] == []


def test_full_login_info_carries_the_upload_settings(api: Api) -> None:
    body = api.as_user("guest").get("/api/login-info/full").json()
    assert body["dicomImageServer"] == "http://localhost:8080/rs"
    assert body["uploadFileMax"] == 30
    assert body["uploadFileSizeMaxBytes"] == 200 * 1024 * 1024


def test_full_login_info_needs_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/login-info/full")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}
