"""`/admin/projects` (spec 4.13)."""

from __future__ import annotations

import re
from typing import Any

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}
LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
ULID = re.compile(r"^[0-9a-z]{26}$")


def new_project(**overrides: Any) -> dict[str, Any]:
    return {
        "projectName": "Liver",
        "icon": {"glyph": "liver", "color": "#ff0000", "backgroundColor": "#ffffff"},
        "description": "Liver tumours",
        "tags": [{"caption": "todo", "color": "#00ff00"}],
        "caseAttributesSchema": {
            "type": "object",
            "properties": {"stage": {"type": "integer", "minimum": 0, "maximum": 4},
                           "note": {"type": "string", "maxLength": 100},
                           "kind": {"type": "string", "enum": ["a", "b"]}},
            "required": ["stage"],
        },
        "labelAttributesSchema": {},
        "windowPresets": [{"label": "abdomen", "level": 40, "width": 400}],
        "windowPriority": "preset,auto",
        **overrides,
    }


# ---- privilege -------------------------------------------------------------------------------


ADMIN_REQUESTS: list[tuple[str, str, Any]] = [
    ("GET", "/api/admin/projects", None),
    ("GET", f"/api/admin/projects/{LUNG}", None),
    ("PATCH", f"/api/admin/projects/{LUNG}", {"projectName": "hacked"}),
    ("POST", "/api/admin/projects", new_project()),
]


def test_project_administration_needs_manage_server(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        for method, url, body in ADMIN_REQUESTS:
            response = api.as_user(user).request(method, url, json=body)
            assert (response.status_code, response.json()) == (401, REFUSED), (user, method, url)
    assert sync_db.projects.count_documents({}) == 1
    assert sync_db.projects.find_one({"projectId": LUNG})["projectName"] == "Lung nodules"
    # positive control: the administrator passes the same requests
    for method, url, body in ADMIN_REQUESTS:
        assert api.as_user("alice").request(method, url, json=body).status_code < 300, (method, url)


# ---- list and read ---------------------------------------------------------------------------


def test_an_administrator_lists_the_projects(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/projects")
    assert response.status_code == 200
    body = response.json()
    assert body["totalItems"] == 1
    assert body["page"] == 1
    [project] = body["items"]
    assert project["projectId"] == LUNG
    assert project["projectName"] == "Lung nodules"
    assert "_id" not in project


def test_the_project_list_puts_the_last_updated_first(api: Api) -> None:
    client = api.as_user("alice")
    first = client.post("/api/admin/projects", json=new_project(projectName="A")).json()["projectId"]
    second = client.post("/api/admin/projects", json=new_project(projectName="B")).json()["projectId"]
    assert [p["projectId"] for p in client.get("/api/admin/projects").json()["items"]] == [second, first, LUNG]
    assert client.patch(f"/api/admin/projects/{LUNG}", json={"description": "touched"}).status_code == 204
    assert [p["projectId"] for p in client.get("/api/admin/projects").json()["items"]] == [LUNG, second, first]


def test_the_project_list_pages_sorts_and_ignores_the_filter(api: Api) -> None:
    client = api.as_user("alice")
    for name in ("C", "A", "B"):
        assert client.post("/api/admin/projects", json=new_project(projectName=name)).status_code == 201
    body = client.get("/api/admin/projects", params={"sort": '{"projectName":1}', "limit": 2, "page": 1,
                                                     "filter": '{"projectName":"A"}'}).json()
    assert [p["projectName"] for p in body["items"]] == ["A", "B"]
    assert body["totalItems"] == 4


def test_the_project_list_is_an_unlimited_list(api: Api) -> None:
    client = api.as_user("alice")
    assert client.get("/api/admin/projects", params={"limit": 1000}).status_code == 200
    assert client.get("/api/admin/projects?unlimited").json()["totalItems"] == 1
    response = client.get("/api/admin/projects", params={"limit": 10000})
    assert response.status_code == 400
    assert response.json() == {"error": "You cannot query more than 9999 items at a time."}


def test_an_administrator_reads_one_project(api: Api) -> None:
    response = api.as_user("alice").get(f"/api/admin/projects/{LUNG}")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"projectId", "projectName", "icon", "description", "tags", "caseAttributesSchema",
                         "labelAttributesSchema", "windowPresets", "windowPriority", "createdAt", "updatedAt"}
    assert body["windowPriority"] == "dicom,auto"


def test_reading_an_unknown_project_is_404(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/projects/nope")
    assert response.status_code == 404
    assert response.json() == {"error": "This project does not exist."}


# ---- create ----------------------------------------------------------------------------------


def test_creating_a_project_answers_a_new_ulid(api: Api, sync_db: Database) -> None:
    body = new_project()
    response = api.as_user("alice").post("/api/admin/projects", json=body)
    assert response.status_code == 201
    project_id = response.json()["projectId"]
    assert set(response.json()) == {"projectId"}
    assert ULID.match(project_id)

    stored = sync_db.projects.find_one({"projectId": project_id}, {"_id": 0})
    assert stored is not None
    assert stored.pop("createdAt") == stored.pop("updatedAt")
    assert stored == {"projectId": project_id, **body}
    assert api.as_user("alice").get(f"/api/admin/projects/{project_id}").json()["projectName"] == "Liver"


def test_a_project_id_cannot_be_chosen(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").post("/api/admin/projects", json=new_project(projectId="mine"))
    assert response.status_code == 400
    assert response.json() == {"error": "Project ID cannot be specified"}
    assert sync_db.projects.count_documents({}) == 1


def test_a_new_project_needs_every_field(api: Api, sync_db: Database) -> None:
    for missing in ("projectName", "icon", "description", "tags", "caseAttributesSchema", "labelAttributesSchema",
                    "windowPresets", "windowPriority"):
        body = new_project()
        del body[missing]
        response = api.as_user("alice").post("/api/admin/projects", json=body)
        assert response.status_code == 400, missing
        [error] = response.json()["validationErrors"]
        assert error["params"] == {"missingProperty": missing}
    assert sync_db.projects.count_documents({}) == 1


def test_a_bad_new_project_is_refused(api: Api, sync_db: Database) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"projectName": "x" * 65}, ".projectName"),
        ({"icon": {"glyph": "Lung Big", "color": "#ff0000", "backgroundColor": "#ffffff"}}, ".icon.glyph"),
        ({"icon": {"glyph": "lung", "color": "red", "backgroundColor": "#ffffff"}}, ".icon.color"),
        ({"tags": [{"caption": "x", "color": "#FF0000"}]}, ".tags[0].color"),
        ({"windowPriority": "auto,dicom"}, ".windowPriority"),
        ({"windowPresets": [{"label": "x", "level": "40", "width": 400}]}, ".windowPresets[0].level"),
        ({"caseAttributesSchema": {"type": "object", "oneOf": []}}, ".caseAttributesSchema"),
        ({"description": "x" * 1025}, ".description"),
    ]
    for overrides, data_path in cases:
        response = api.as_user("alice").post("/api/admin/projects", json=new_project(**overrides))
        assert response.status_code == 400, overrides
        assert response.json()["error"] == "Request data is not correct."
        assert [e["dataPath"] for e in response.json()["validationErrors"]] == [data_path], overrides
    assert sync_db.projects.count_documents({}) == 1


# ---- update ----------------------------------------------------------------------------------


def test_an_administrator_changes_a_project(api: Api, sync_db: Database) -> None:
    before = sync_db.projects.find_one({"projectId": LUNG})
    tags = [{"caption": "new", "color": "#123456"}]
    response = api.as_user("alice").patch(f"/api/admin/projects/{LUNG}", json={"projectName": "Lungs", "tags": tags})
    assert response.status_code == 204
    assert response.content == b""
    after = sync_db.projects.find_one({"projectId": LUNG})
    assert after["projectName"] == "Lungs"
    assert after["tags"] == tags
    assert after["description"] == before["description"]
    assert after["updatedAt"] > before["updatedAt"]
    # readers see the change
    assert api.as_user("bob").get(f"/api/projects/{LUNG}").json()["projectName"] == "Lungs"


def test_the_project_id_cannot_be_modified(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch(f"/api/admin/projects/{LUNG}", json={"projectId": "other"})
    assert response.status_code == 400
    assert response.json() == {"error": "The primary key cannot be modified."}
    assert sync_db.projects.count_documents({"projectId": LUNG}) == 1


def test_a_project_patch_with_an_unknown_field_writes_nothing(api: Api, sync_db: Database) -> None:
    before = sync_db.projects.find_one({"projectId": LUNG})
    response = api.as_user("alice").patch(f"/api/admin/projects/{LUNG}", json={"projectName": "X", "owner": "me"})
    assert response.status_code == 400
    assert response.json()["validationErrors"][0]["params"] == {"additionalProperty": "owner"}
    assert sync_db.projects.find_one({"projectId": LUNG}) == before


def test_patching_an_unknown_project_is_404(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").patch("/api/admin/projects/nope", json={"projectName": "X"})
    assert response.status_code == 404
    assert response.json() == {"error": "This project does not exist."}
    assert sync_db.projects.count_documents({}) == 1
