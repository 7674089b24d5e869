"""`/admin/plugin-job-manager` and its switch (spec 4.14; administrators only, Re-impl)."""

from __future__ import annotations

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}


def test_the_job_manager_runs_unless_switched_off(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/plugin-job-manager")
    assert response.status_code == 200
    assert response.json() == {"status": "running"}


def test_the_switch_round_trips(api: Api, sync_db: Database) -> None:
    client = api.as_user("alice")
    response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
    assert response.status_code == 200
    assert response.json() == {"status": "stopped"}
    assert client.get("/api/admin/plugin-job-manager").json() == {"status": "stopped"}
    stored = sync_db.pluginJobManager.find_one({"key": "switch"})
    assert stored is not None
    assert stored["status"] == "stopped"
    assert stored["changedBy"] == "alice@example.com"

    response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "running"})
    assert response.status_code == 200
    assert response.json() == {"status": "running"}
    assert client.get("/api/admin/plugin-job-manager").json() == {"status": "running"}
    assert sync_db.pluginJobManager.count_documents({}) == 1


def test_switching_to_the_current_state_is_a_no_op(api: Api) -> None:
    client = api.as_user("alice")
    for _ in range(2):
        response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
        assert response.status_code == 200
        assert response.json() == {"status": "stopped"}
    assert client.get("/api/admin/plugin-job-manager").json() == {"status": "stopped"}


def test_an_invalid_switch_status_is_400(api: Api, sync_db: Database) -> None:
    for body in ({"status": "paused"}, {"status": None}, {}, {"status": "running", "now": True}):
        response = api.as_user("alice").put("/api/admin/plugin-job-manager/switch", json=body)
        assert response.status_code == 400, body
        assert response.json()["error"] == "Request data is not correct."
        assert len(response.json()["validationErrors"]) == 1, body
    assert sync_db.pluginJobManager.count_documents({}) == 0


def test_the_job_manager_needs_manage_server(api: Api, sync_db: Database) -> None:
    for user in ("bob", "guest"):
        response = api.as_user(user).get("/api/admin/plugin-job-manager")
        assert (response.status_code, response.json()) == (401, REFUSED), user
        response = api.as_user(user).put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
        assert (response.status_code, response.json()) == (401, REFUSED), user
    assert sync_db.pluginJobManager.count_documents({}) == 0
    assert api.as_user("alice").get("/api/admin/plugin-job-manager").json() == {"status": "running"}
