"""`/admin/users` (spec 4.13)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}
FIXTURE_EMAILS = {"alice@example.com", "bob@example.com", "guest@example.com", "carol@example.com",
                  "dave@example.com", "eve@example.com", "frank@example.com"}
PREFERENCE_DEFAULTS: dict[str, Any] = {
    "theme": "mode_white", "personalInfoView": False, "seriesSearchPresets": [], "caseSearchPresets": [],
    "pluginJobSearchPresets": [], "referenceLine": False, "initailAlphaForNewLabels": 1,
    "windowPropagationScope": "all", "interpolationMode": "nearestNeighbor", "scrollBars": "none",
    "scrollBarsInfo": {}, "maintainAspectRatio": False, "fixCenterOfGravity": False,
    "dimmedOutlineFor2DLabels": "show", "revisionMessageTemplates": [],
    "labelColors": {"useDefault": True, "customColors": []},
}


def new_user(**overrides: Any) -> dict[str, Any]:
    return {"userEmail": "zoe@example.com", "loginId": "zoe", "password": "zoeSecret!", "loginEnabled": True,
            "description": "Zoe", "groups": [2], **overrides}


def json_body(value: Any) -> bytes:
    return json.dumps(value).encode()


def _user(sync_db: Database, email: str) -> dict[str, Any]:
    user = sync_db.users.find_one({"userEmail": email}, {"_id": 0})
    assert user is not None
    return dict(user)


# ---- privilege -------------------------------------------------------------------------------


ADMIN_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/users", None),
    ("GET", "/api/admin/users/alice@example.com", None),
    ("PATCH", "/api/admin/users/guest@example.com", {"groups": [1]}),
    ("POST", "/api/admin/users", new_user(groups=[1])),
]


def test_user_administration_needs_manage_server(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        for method, url, body in ADMIN_REQUESTS:
            response = api.as_user(user).request(method, url, json=body)
            assert (response.status_code, response.json()) == (401, REFUSED), (user, method, url)
    assert sync_db.users.count_documents({}) == 7
    assert _user(sync_db, "guest@example.com")["groups"] == [3]
    # positive control: the administrator passes the same requests
    for method, url, body in ADMIN_REQUESTS:
        assert api.as_user("alice").request(method, url, json=body).status_code < 300, (method, url)


# ---- list ------------------------------------------------------------------------------------


def test_an_administrator_lists_users_without_passwords(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/users")
    assert response.status_code == 200
    body = response.json()
    assert body["totalItems"] == 7
    assert body["page"] == 1
    assert {u["userEmail"] for u in body["items"]} == FIXTURE_EMAILS
    for user in body["items"]:
        assert "password" not in user
        assert "_id" not in user
        assert {"loginId", "groups", "preferences", "myLists", "lastLoginTime", "createdAt"} <= set(user)
    assert "$2y$" not in response.text


def test_the_user_list_puts_the_newest_first(api: Api) -> None:
    client = api.as_user("alice")
    assert client.post("/api/admin/users", json=new_user()).status_code == 201
    items = client.get("/api/admin/users").json()["items"]
    assert items[0]["userEmail"] == "zoe@example.com"
    assert "password" not in items[0]


def test_the_user_list_pages_and_sorts(api: Api) -> None:
    client = api.as_user("alice")
    body = client.get("/api/admin/users", params={"sort": '{"loginId":1}', "limit": 3, "page": 2}).json()
    assert [u["loginId"] for u in body["items"]] == ["dave", "eve", "frank"]
    assert body["totalItems"] == 7
    assert body["page"] == 2


def test_the_user_list_ignores_the_filter(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/users", params={"filter": '{"loginId":"bob"}'})
    assert response.status_code == 200
    assert response.json()["totalItems"] == 7


def test_the_user_list_is_limited_to_200(api: Api) -> None:
    client = api.as_user("alice")
    assert client.get("/api/admin/users", params={"limit": 200}).status_code == 200
    response = client.get("/api/admin/users", params={"limit": 201})
    assert response.status_code == 400
    assert response.json() == {"error": "You cannot query more than 200 items at a time."}
    # `unlimited` is not offered here: it does not lift the cap
    response = client.get("/api/admin/users?unlimited&limit=201")
    assert response.status_code == 400
    assert response.json() == {"error": "You cannot query more than 200 items at a time."}
    assert len(client.get("/api/admin/users?unlimited&limit=2").json()["items"]) == 2


# ---- one user --------------------------------------------------------------------------------


def test_an_administrator_reads_a_user_without_the_password(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/users/bob@example.com")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"userEmail", "loginId", "description", "lastLoginTime", "lastLoginIp", "preferences",
                         "loginEnabled", "groups", "myLists", "createdAt", "updatedAt"}
    assert body["groups"] == [2]
    assert body["lastLoginTime"] == "2014-07-13T15:53:02.000Z"
    assert [m["name"] for m in body["myLists"]] == ["Bob's MyList", "MyList1", "MyList2", "My Series List"]


def test_reading_an_unknown_user_is_404(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/users/nobody@example.com")
    assert response.status_code == 404
    assert response.json() == {"error": "This user does not exist."}


# ---- create ----------------------------------------------------------------------------------


def test_creating_a_user_stores_a_complete_document(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post(
        "/api/admin/users", json=new_user(preferences={"theme": "mode_black"})
    )
    assert response.status_code == 201
    assert response.json() == {"userEmail": "zoe@example.com"}

    user = _user(sync_db, "zoe@example.com")
    password = user.pop("password")
    assert password.startswith("$2y$10$") and len(password) == 60
    assert user.pop("createdAt") == user.pop("updatedAt")
    assert user == {
        "userEmail": "zoe@example.com",
        "loginId": "zoe",
        "loginEnabled": True,
        "description": "Zoe",
        "groups": [2],
        "preferences": {**PREFERENCE_DEFAULTS, "theme": "mode_black"},
        "myLists": [],
        "lastLoginTime": dt.datetime(1970, 1, 1),
        "lastLoginIp": "",
    }


def test_a_new_user_can_log_in_with_the_given_password(api: Api) -> None:
    assert api.as_user("alice").post("/api/admin/users", json=new_user()).status_code == 201
    assert api.login(username="zoe", password="wrong").status_code == 400
    response = api.login(username="zoe@example.com", password="zoeSecret!")
    assert response.status_code == 200
    token = response.json()["access_token"]
    assert api.as_token(token).get("/api/login-info").json() == {"userEmail": "zoe@example.com", "loginId": "zoe"}
    # and holds the rights of the given group
    assert api.as_token(token).get("/api/projects/8883fdef6f5144f50eb2a83cd34baa44").status_code == 200


def test_a_created_user_who_is_disabled_cannot_log_in(api: Api) -> None:
    assert api.as_user("alice").post("/api/admin/users", json=new_user(loginEnabled=False)).status_code == 201
    response = api.login(username="zoe", password="zoeSecret!")
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid grant: user credentials are invalid"}


def test_a_sent_my_lists_is_ignored_on_creation(api: Api, sync_db: Database) -> None:
    my_list = {"myListId": "01hzzzzzzzzzzzzzzzzzzzzzzz", "resourceType": "series", "name": "x", "public": True,
               "editors": [], "createdAt": "2021-01-01T00:00:00.000Z"}
    response = api.as_user("alice").post("/api/admin/users", json=new_user(myLists=[my_list]))
    assert response.status_code == 201
    assert _user(sync_db, "zoe@example.com")["myLists"] == []


def test_a_duplicate_email_is_a_409_naming_the_field(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/users", json=new_user(userEmail="bob@example.com"))
    assert response.status_code == 409
    assert response.json() == {"error": "A user with this userEmail already exists."}
    assert _user(sync_db, "bob@example.com")["loginId"] == "bob"
    assert sync_db.users.count_documents({}) == 7


def test_a_duplicate_login_id_is_a_409_naming_the_field(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/users", json=new_user(loginId="bob"))
    assert response.status_code == 409
    assert response.json() == {"error": "A user with this loginId already exists."}
    assert sync_db.users.count_documents({}) == 7


def test_an_unknown_group_is_refused_on_creation(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/users", json=new_user(groups=[2, 99, 98]))
    assert response.status_code == 400
    assert response.json() == {"error": "Nonexistent group ID: 98, 99"}
    assert sync_db.users.count_documents({}) == 7


def test_a_password_over_72_bytes_is_refused(api: Api, sync_db: Database) -> None:
    # 40 characters pass the schema, but they are 80 bytes and bcrypt reads 72 at most
    response = api.as_user("alice").post("/api/admin/users", json=new_user(password="\u00e9" * 40))
    assert response.status_code == 400
    assert response.json() == {"error": "The password must not be longer than 72 bytes."}
    assert sync_db.users.count_documents({}) == 7
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"password": "\u00e9" * 40})
    assert response.status_code == 400
    assert response.json() == {"error": "The password must not be longer than 72 bytes."}
    assert api.login(username="bob", password="bobSecret").status_code == 200


def test_a_password_of_72_bytes_works(api: Api) -> None:
    password = "\u00e9" * 36
    assert api.as_user("alice").post("/api/admin/users", json=new_user(password=password)).status_code == 201
    assert api.login(username="zoe", password=password).status_code == 200


def test_a_group_id_beyond_64_bits_is_an_unknown_group(api: Api, sync_db: Database) -> None:
    raw = json_body(new_user()).replace(b'"groups": [2]', b'"groups": [99999999999999999999]')
    response = api.as_user("alice").post("/api/admin/users", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json() == {"error": "Nonexistent group ID: 1e+20"}
    assert sync_db.users.count_documents({}) == 7


def test_login_bookkeeping_cannot_be_set_on_creation(api: Api, sync_db: Database) -> None:
    for field in ("lastLoginTime", "lastLoginIp"):
        response = api.as_user("alice").post("/api/admin/users", json=new_user(**{field: "0.0.0.0"}))
        assert (response.status_code, response.json()) == (400, {"error": f"{field} cannot be specified."})
    assert sync_db.users.count_documents({}) == 7


def test_a_bad_new_user_is_refused(api: Api, sync_db: Database) -> None:
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"userEmail": "not-an-email"}, ".userEmail", "format"),
        ({"loginId": "has space"}, ".loginId", "pattern"),
        ({"groups": ["1"]}, ".groups[0]", "type"),
        ({"groups": [1, 1]}, ".groups", "uniqueItems"),
        ({"loginEnabled": "yes"}, ".loginEnabled", "type"),
        ({"password": ""}, ".password", "minLength"),
        ({"preferences": {"theme": "neon"}}, ".preferences.theme", "enum"),
        ({"nickname": "z"}, "", "additionalProperties"),
    ]
    for overrides, data_path, keyword in cases:
        response = api.as_user("alice").post("/api/admin/users", json=new_user(**overrides))
        assert response.status_code == 400, overrides
        assert response.json()["error"] == "Request data is not correct."
        errors = [(e["dataPath"], e["keyword"]) for e in response.json()["validationErrors"]]
        assert errors == [(data_path, keyword)], overrides
    assert sync_db.users.count_documents({}) == 7


def test_a_new_user_needs_every_required_field(api: Api, sync_db: Database) -> None:
    for missing in ("userEmail", "loginId", "password", "loginEnabled", "description", "groups"):
        body = new_user()
        del body[missing]
        response = api.as_user("alice").post("/api/admin/users", json=body)
        assert response.status_code == 400, missing
        [error] = response.json()["validationErrors"]
        assert error["keyword"] == "required"
        assert error["params"] == {"missingProperty": missing}
        assert missing in error["message"]
    assert sync_db.users.count_documents({}) == 7


# ---- update ----------------------------------------------------------------------------------


def test_an_administrator_changes_a_user(api: Api, sync_db: Database) -> None:
    before = _user(sync_db, "guest@example.com")
    response = api.as_user("alice").patch(
        "/api/admin/users/guest@example.com", json={"description": "Visitor", "groups": [3, 5]}
    )
    assert response.status_code == 204
    assert response.content == b""
    after = _user(sync_db, "guest@example.com")
    assert after["description"] == "Visitor"
    assert after["groups"] == [3, 5]
    assert after["password"] == before["password"]
    assert after["updatedAt"] > before["updatedAt"]


def test_a_changed_password_is_hashed_and_replaces_the_old_one(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"password": "n3wPass"})
    assert response.status_code == 204
    stored = _user(sync_db, "bob@example.com")["password"]
    assert stored.startswith("$2y$10$")
    assert "n3wPass" not in stored
    assert api.login(username="bob", password="bobSecret").status_code == 400
    assert api.login(username="bob", password="n3wPass").status_code == 200


def test_preferences_and_my_lists_are_replaced_wholesale(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch(
        "/api/admin/users/bob@example.com", json={"preferences": {"theme": "mode_black"}, "myLists": []}
    )
    assert response.status_code == 204
    user = _user(sync_db, "bob@example.com")
    assert user["preferences"] == {"theme": "mode_black"}
    assert user["myLists"] == []


def test_patched_my_lists_must_be_complete_and_get_real_dates(api: Api, sync_db: Database) -> None:
    entry = {"myListId": "01hzzzzzzzzzzzzzzzzzzzzzzz", "resourceType": "series", "name": "x", "public": False,
             "editors": [{"type": "group", "groupId": 3}], "createdAt": "2021-02-03T04:05:06.007Z"}
    for missing in ("public", "editors", "createdAt"):
        incomplete = {k: v for k, v in entry.items() if k != missing}
        response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"myLists": [incomplete]})
        assert response.status_code == 400, missing
        assert response.json()["validationErrors"][0]["params"] == {"missingProperty": missing}
    assert len(_user(sync_db, "bob@example.com")["myLists"]) == 4

    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"myLists": [entry]})
    assert response.status_code == 204
    assert _user(sync_db, "bob@example.com")["myLists"] == [
        {**entry, "createdAt": dt.datetime(2021, 2, 3, 4, 5, 6, 7000)}
    ]


def test_a_user_read_by_the_administrator_can_be_written_back(api: Api, sync_db: Database) -> None:
    before = _user(sync_db, "dave@example.com")
    user = api.as_user("alice").get("/api/admin/users/dave@example.com").json()
    body = {k: user[k] for k in ("loginId", "description", "loginEnabled", "groups", "preferences", "myLists")}
    response = api.as_user("alice").patch("/api/admin/users/dave@example.com", json=body)
    assert response.status_code == 204
    after = _user(sync_db, "dave@example.com")
    assert {k: v for k, v in after.items() if k != "updatedAt"} == {k: v for k, v in before.items() if k != "updatedAt"}


def test_disabling_a_user_stops_their_logins(api: Api) -> None:
    assert api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"loginEnabled": False}
                                      ).status_code == 204
    assert api.login(username="bob", password="bobSecret").status_code == 400


def test_the_user_email_cannot_be_modified(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"userEmail": "b@example.com"})
    assert response.status_code == 400
    assert response.json() == {"error": "The primary key cannot be modified."}
    assert sync_db.users.count_documents({"userEmail": "bob@example.com"}) == 1


def test_login_bookkeeping_cannot_be_patched(api: Api, sync_db: Database) -> None:
    for field in ("lastLoginTime", "lastLoginIp"):
        response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={field: "1.2.3.4"})
        assert (response.status_code, response.json()) == (400, {"error": f"{field} cannot be specified."})
    assert _user(sync_db, "bob@example.com")["lastLoginIp"] == "0.0.0.0"


def test_patching_a_login_id_taken_by_another_user_is_409(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"loginId": "carol"})
    assert response.status_code == 409
    assert response.json() == {"error": "A user with this loginId already exists."}
    assert _user(sync_db, "bob@example.com")["loginId"] == "bob"


def test_patching_unknown_groups_is_refused(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com", json={"groups": [2, 42]})
    assert response.status_code == 400
    assert response.json() == {"error": "Nonexistent group ID: 42"}
    assert _user(sync_db, "bob@example.com")["groups"] == [2]


def test_a_user_patch_with_an_unknown_field_writes_nothing(api: Api, sync_db: Database) -> None:
    before = _user(sync_db, "bob@example.com")
    response = api.as_user("alice").patch("/api/admin/users/bob@example.com",
                                          json={"description": "B", "role": "admin"})
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["params"] == {"additionalProperty": "role"}
    assert _user(sync_db, "bob@example.com") == before


def test_patching_an_unknown_user_is_404(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/users/nobody@example.com", json={"description": "x"})
    assert response.status_code == 404
    assert response.json() == {"error": "This user does not exist."}
    assert sync_db.users.count_documents({}) == 7
