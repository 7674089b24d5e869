"""`GET /projects/:projectId` (spec 4.4): needs the `read` role on that project."""

from __future__ import annotations

from pymongo.database import Database

from tests.circus_api.conftest import Api

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"


def test_a_reader_gets_the_project_document(api: Api) -> None:
    response = api.as_user("bob").get(f"/api/projects/{LUNG}")
    assert response.status_code == 200
    assert response.json() == {
        "projectId": LUNG,
        "projectName": "Lung nodules",
        "icon": {"glyph": "lung", "color": "#ffff00", "backgroundColor": "#00ffff"},
        "description": "Collection of various lung nodules",
        "windowPriority": "dicom,auto",
        "windowPresets": [],
        "tags": [{"caption": "happy", "color": "#ff0000"}, {"caption": "ufo", "color": "#00ff00"}],
        "caseAttributesSchema": {},
        "labelAttributesSchema": {},
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
    }


def test_a_user_without_the_read_role_is_401(api: Api) -> None:
    response = api.as_user("guest").get(f"/api/projects/{LUNG}")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "read" privilege of this project.'}


def test_an_administrator_without_the_read_role_is_401_too(api: Api) -> None:
    response = api.as_user("alice").get(f"/api/projects/{LUNG}")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "read" privilege of this project.'}


def test_an_unknown_project_is_401_since_nobody_holds_a_role_on_it(api: Api) -> None:
    response = api.as_user("bob").get("/api/projects/01hzzzzzzzzzzzzzzzzzzzzzzz")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "read" privilege of this project.'}


def test_a_role_on_a_deleted_project_grants_nothing(api: Api, sync_db: Database) -> None:
    sync_db.projects.delete_one({"projectId": LUNG})
    response = api.as_user("bob").get(f"/api/projects/{LUNG}")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "read" privilege of this project.'}


def test_the_read_role_comes_from_any_of_the_users_groups(api: Api, sync_db: Database) -> None:
    sync_db.users.update_one({"userEmail": "guest@example.com"}, {"$set": {"groups": [3, 5]}})
    response = api.as_user("guest").get(f"/api/projects/{LUNG}")
    assert response.status_code == 200
    assert response.json()["projectId"] == LUNG


def test_projects_need_authentication(api: Api) -> None:
    response = api.as_user(None).get(f"/api/projects/{LUNG}")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized request: no authentication given"}
