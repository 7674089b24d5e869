"""`/admin/groups` and `/admin/global-privileges` (spec 2.1, 4.13)."""

from __future__ import annotations

from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}
LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
PLUGIN = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
ROLE_FIELDS = (
    "readProjects", "writeProjects", "addSeriesProjects", "viewPersonalInfoProjects", "moderateProjects",
    "readPlugin", "executePlugin", "manageJobs", "inputPersonalFeedback", "inputConsensualFeedback",
    "manageFeedback", "viewPersonalInfo",
)


def new_group(**overrides: Any) -> dict[str, Any]:
    return {"groupName": "readers", "privileges": [], "domains": ["vega.org"],
            **{name: [] for name in ROLE_FIELDS}, **overrides}


# ---- privilege -------------------------------------------------------------------------------


ADMIN_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/groups", None),
    ("GET", "/api/admin/groups/1", None),
    ("PATCH", "/api/admin/groups/3", {"groupName": "hacked"}),
    ("POST", "/api/admin/groups", new_group()),
    ("GET", "/api/admin/global-privileges", None),
]


def test_group_administration_needs_manage_server(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        for method, url, body in ADMIN_REQUESTS:
            response = api.as_user(user).request(method, url, json=body)
            assert (response.status_code, response.json()) == (401, REFUSED), (user, method, url)
    assert sync_db.groups.count_documents({}) == 5
    assert sync_db.groups.find_one({"groupId": 3}, {"groupName": 1})["groupName"] == "guests"
    # positive control: the administrator passes the same requests
    for method, url, body in ADMIN_REQUESTS:
        assert api.as_user("alice").request(method, url, json=body).status_code < 300, (method, url)


def test_group_administration_needs_authentication(api: Api) -> None:
    response = api.as_user(None).get("/api/admin/groups")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}


# ---- list ------------------------------------------------------------------------------------


def test_an_administrator_lists_the_groups_by_id(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/groups")
    assert response.status_code == 200
    body = response.json()
    assert body["totalItems"] == 5
    assert body["page"] == 1
    assert [g["groupId"] for g in body["items"]] == [1, 2, 3, 4, 5]
    assert [g["groupName"] for g in body["items"]] == ["admin", "powerUser", "guests", "powerUser2",
                                                       "unprivilegedUser"]
    assert all("_id" not in g for g in body["items"])
    assert body["items"][1]["readProjects"] == [LUNG]


def test_the_group_list_pages(api: Api) -> None:
    client = api.as_user("alice")
    page2 = client.get("/api/admin/groups", params={"limit": 2, "page": 2}).json()
    assert [g["groupId"] for g in page2["items"]] == [3, 4]
    assert page2["totalItems"] == 5
    assert page2["page"] == 2
    page3 = client.get("/api/admin/groups", params={"limit": 2, "page": 3}).json()
    assert [g["groupId"] for g in page3["items"]] == [5]
    beyond = client.get("/api/admin/groups", params={"limit": 2, "page": 9}).json()
    assert beyond == {"items": [], "totalItems": 5, "page": 9}


def test_the_group_list_sorts_as_asked(api: Api) -> None:
    client = api.as_user("alice")
    by_id = client.get("/api/admin/groups", params={"sort": '{"groupId":-1}'}).json()
    assert [g["groupId"] for g in by_id["items"]] == [5, 4, 3, 2, 1]
    by_name = client.get("/api/admin/groups", params={"sort": '{"groupName":1}'}).json()
    assert [g["groupName"] for g in by_name["items"]] == ["admin", "guests", "powerUser", "powerUser2",
                                                          "unprivilegedUser"]


def test_the_group_list_ignores_the_filter(api: Api) -> None:
    client = api.as_user("alice")
    for raw in ('{"groupName":"admin"}', "not json", '{"$where":"1"}'):
        response = client.get("/api/admin/groups", params={"filter": raw})
        assert response.status_code == 200
        assert response.json()["totalItems"] == 5


def test_the_group_list_is_an_unlimited_list(api: Api) -> None:
    client = api.as_user("alice")
    response = client.get("/api/admin/groups", params={"limit": 500})
    assert response.status_code == 200
    assert response.json()["totalItems"] == 5
    assert len(client.get("/api/admin/groups?unlimited").json()["items"]) == 5
    too_many = client.get("/api/admin/groups", params={"limit": 10000})
    assert too_many.status_code == 400
    assert too_many.json() == {"error": "You cannot query more than 9999 items at a time."}


def test_bad_paging_or_sort_is_400(api: Api) -> None:
    cases = [
        ({"limit": "0"}, "The limit parameter must be a positive integer."),
        ({"limit": "ten"}, "The limit parameter must be a positive integer."),
        ({"page": "0"}, "The page parameter must be a positive integer."),
        ({"sort": "{groupId}"}, "Bad sort parameter. Invalid JSON."),
        ({"sort": '{"groupId":"asc"}'}, "Bad sort parameter. Invalid key/value pair."),
        ({"sort": '{"":1}'}, "Bad sort parameter. Invalid key/value pair."),
    ]
    for params, error in cases:
        response = api.as_user("alice").get("/api/admin/groups", params=params)
        assert (response.status_code, response.json()) == (400, {"error": error}), params


# ---- one group -------------------------------------------------------------------------------


def test_an_administrator_reads_one_group_with_every_field(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/groups/2")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"groupId", "groupName", "privileges", "domains", *ROLE_FIELDS, "createdAt", "updatedAt"}
    assert body["groupId"] == 2
    assert body["groupName"] == "powerUser"
    assert body["privileges"] == ["personalInfoView", "downloadVolume"]
    assert body["domains"] == ["vega.org", "altair.org"]
    assert body["moderateProjects"] == [LUNG]
    assert body["executePlugin"] == [PLUGIN]


def test_an_unknown_or_non_numeric_group_is_404(api: Api) -> None:
    # %C2%B9 and %D9%A3 are a superscript one and an Arabic-Indic three: digits to str.isdigit only
    for group_id in ("99", "abc", "-1", "1.0", "%C2%B9", "%D9%A3"):
        response = api.as_user("alice").get(f"/api/admin/groups/{group_id}")
        assert (response.status_code, response.json()) == (404, {"error": "This group does not exist."}), group_id


def test_the_global_privileges_are_listed_with_captions(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/global-privileges")
    assert response.status_code == 200
    assert response.json() == [
        {"privilege": "createProject", "caption": "Create Project"},
        {"privilege": "deleteProject", "caption": "Delete Project"},
        {"privilege": "manageServer", "caption": "Manage Server"},
        {"privilege": "personalInfoView", "caption": "View Personal Info"},
        {"privilege": "downloadVolume", "caption": "Download Volume as Raw File"},
        {"privilege": "issueOnetime", "caption": "Issue Onetime URL"},
    ]


# ---- create ----------------------------------------------------------------------------------


def test_creating_a_group_answers_the_next_sequential_id(api: Api, sync_db: Database) -> None:
    body = new_group(readProjects=[LUNG], writeProjects=[LUNG], privileges=["downloadVolume"])
    response = api.as_user("alice").post("/api/admin/groups", json=body)
    assert response.status_code == 201
    assert response.json() == {"groupId": 6}

    stored = sync_db.groups.find_one({"groupId": 6}, {"_id": 0})
    assert stored is not None
    created, updated = stored.pop("createdAt"), stored.pop("updatedAt")
    assert created == updated
    assert stored == {"groupId": 6, **body}
    assert api.as_user("alice").get("/api/admin/groups/6").json()["groupName"] == "readers"


def test_group_ids_never_repeat_even_without_a_sequence_document(api: Api, sync_db: Database) -> None:
    # the fixtures hold groups 1..5 but no `groups` sequence
    assert sync_db.sequences.find_one({"key": "groups"}) is None
    client = api.as_user("alice")
    ids = [client.post("/api/admin/groups", json=new_group(groupName=f"g{i}")).json()["groupId"] for i in range(3)]
    assert ids == [6, 7, 8]
    assert sorted(g["groupId"] for g in sync_db.groups.find()) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert sync_db.sequences.find_one({"key": "groups"})["value"] == 8


def test_a_sequence_behind_the_stored_groups_is_caught_up(api: Api, sync_db: Database) -> None:
    sync_db.sequences.insert_one({"key": "groups", "value": 2})
    response = api.as_user("alice").post("/api/admin/groups", json=new_group())
    assert response.status_code == 201
    assert response.json() == {"groupId": 6}


def test_a_sequence_ahead_of_the_stored_groups_is_followed(api: Api, sync_db: Database) -> None:
    sync_db.sequences.insert_one({"key": "groups", "value": 40})
    response = api.as_user("alice").post("/api/admin/groups", json=new_group())
    assert response.status_code == 201
    assert response.json() == {"groupId": 41}


def test_a_group_id_cannot_be_chosen(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/groups", json=new_group(groupId=77))
    assert response.status_code == 400
    assert response.json() == {"error": "Group ID cannot be specified"}
    assert sync_db.groups.count_documents({}) == 5


def test_a_new_group_needs_every_field(api: Api, sync_db: Database) -> None:
    body = new_group()
    del body["manageJobs"]
    response = api.as_user("alice").post("/api/admin/groups", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    [error] = response.json()["validationErrors"]
    assert error["keyword"] == "required"
    assert error["params"] == {"missingProperty": "manageJobs"}
    assert sync_db.groups.count_documents({}) == 5


def test_a_new_group_with_an_unknown_privilege_is_refused(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/groups", json=new_group(privileges=["superUser"]))
    assert response.status_code == 400
    assert [e["dataPath"] for e in response.json()["validationErrors"]] == [".privileges[0]"]
    assert sync_db.groups.count_documents({}) == 5


ROLE_DEPENDENCIES = [
    ("writeProjects", "readProjects"), ("moderateProjects", "readProjects"),
    ("viewPersonalInfoProjects", "readProjects"), ("addSeriesProjects", "readProjects"),
    ("executePlugin", "readPlugin"), ("manageJobs", "readPlugin"), ("viewPersonalInfo", "readPlugin"),
    ("inputPersonalFeedback", "readPlugin"), ("inputConsensualFeedback", "readPlugin"),
    ("manageFeedback", "readPlugin"),
]


def test_a_new_group_must_respect_the_role_dependencies(api: Api, sync_db: Database) -> None:
    client = api.as_user("alice")
    for role, needed in ROLE_DEPENDENCIES:
        response = client.post("/api/admin/groups", json=new_group(**{role: ["x1", "x2"], needed: ["x2"]}))
        expected = {"error": f"{role} requires {needed}, which lacks: x1"}
        assert (response.status_code, response.json()) == (400, expected), role
    assert sync_db.groups.count_documents({}) == 5
    # positive control: with every dependency covered
    for role, needed in ROLE_DEPENDENCIES:
        ok = client.post("/api/admin/groups", json=new_group(**{role: ["x1", "x2"], needed: ["x1", "x2"]}))
        assert ok.status_code == 201, role


# ---- update ----------------------------------------------------------------------------------


def test_an_administrator_changes_a_group(api: Api, sync_db: Database) -> None:
    before = sync_db.groups.find_one({"groupId": 3})
    response = api.as_user("alice").patch("/api/admin/groups/3", json={"groupName": "visitors", "domains": ["a"]})
    assert response.status_code == 204
    assert response.content == b""
    after = sync_db.groups.find_one({"groupId": 3})
    assert after["groupName"] == "visitors"
    assert after["domains"] == ["a"]
    assert after["privileges"] == before["privileges"]
    assert after["createdAt"] == before["createdAt"]
    assert after["updatedAt"] > before["updatedAt"]


def test_a_changed_group_changes_its_members_rights(api: Api) -> None:
    assert api.as_user("guest").get(f"/api/projects/{LUNG}").status_code == 401
    assert api.as_user("alice").patch("/api/admin/groups/3", json={"readProjects": [LUNG]}).status_code == 204
    assert api.as_user("guest").get(f"/api/projects/{LUNG}").status_code == 200


def test_the_role_dependency_is_checked_on_the_merged_group(api: Api, sync_db: Database) -> None:
    # group 2 already reads LUNG, so granting write alone is consistent (spec 4.13 Re-impl)
    client = api.as_user("alice")
    assert client.patch("/api/admin/groups/2", json={"addSeriesProjects": [LUNG]}).status_code == 204
    assert sync_db.groups.find_one({"groupId": 2})["addSeriesProjects"] == [LUNG]


def test_removing_a_needed_role_is_refused(api: Api, sync_db: Database) -> None:
    # group 2 writes and moderates LUNG: it cannot stop reading it
    response = api.as_user("alice").patch("/api/admin/groups/2", json={"readProjects": []})
    assert response.status_code == 400
    assert response.json() == {"error": f"writeProjects requires readProjects, which lacks: {LUNG}"}
    assert sync_db.groups.find_one({"groupId": 2})["readProjects"] == [LUNG]


def test_a_patch_breaking_a_plugin_dependency_is_refused(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/groups/3", json={"executePlugin": [PLUGIN]})
    assert response.status_code == 400
    assert response.json() == {"error": f"executePlugin requires readPlugin, which lacks: {PLUGIN}"}
    assert sync_db.groups.find_one({"groupId": 3})["executePlugin"] == []
    ok = api.as_user("alice").patch("/api/admin/groups/3", json={"executePlugin": [PLUGIN], "readPlugin": [PLUGIN]})
    assert ok.status_code == 204


def test_the_group_id_cannot_be_modified(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/groups/3", json={"groupId": 30})
    assert response.status_code == 400
    assert response.json() == {"error": "The primary key cannot be modified."}
    assert sync_db.groups.find_one({"groupId": 3}) is not None


def test_a_patch_with_an_unknown_field_is_refused(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/groups/3", json={"groupName": "x", "color": "red"})
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["params"] == {"additionalProperty": "color"}
    assert sync_db.groups.find_one({"groupId": 3})["groupName"] == "guests"


def test_an_empty_group_patch_is_refused(api: Api) -> None:
    response = api.as_user("alice").patch("/api/admin/groups/3", json={})
    assert response.status_code == 400
    assert [e["keyword"] for e in response.json()["validationErrors"]] == ["minProperties"]


def test_patching_an_unknown_group_is_404(api: Api, sync_db: Database) -> None:
    for group_id in ("99", "abc"):
        response = api.as_user("alice").patch(f"/api/admin/groups/{group_id}", json={"groupName": "x"})
        assert (response.status_code, response.json()) == (404, {"error": "This group does not exist."}), group_id
    assert sync_db.groups.count_documents({}) == 5
