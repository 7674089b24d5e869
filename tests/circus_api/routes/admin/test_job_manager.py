"""`/admin/plugin-job-manager` and its switch (spec 4.14; administrators only, Re-impl)."""

from __future__ import annotations

import datetime as dt

from pymongo.database import Database

from tests.circus_api.conftest import Api

REFUSED = {"error": "You do not have sufficient privilege to access this resource. manageServer"}


def test_the_job_manager_runs_unless_switched_off(api: Api) -> None:
    response = api.as_user("alice").get("/api/admin/plugin-job-manager")
    assert response.status_code == 200
    assert response.json() == {"status": "running", "managers": []}


def test_the_switch_round_trips(api: Api, sync_db: Database) -> None:
    client = api.as_user("alice")
    response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
    assert response.status_code == 200
    assert response.json() == {"status": "stopped"}
    assert client.get("/api/admin/plugin-job-manager").json()["status"] == "stopped"
    stored = sync_db.pluginJobManager.find_one({"key": "switch"})
    assert stored is not None
    assert stored["status"] == "stopped"
    assert stored["changedBy"] == "alice@example.com"

    response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "running"})
    assert response.status_code == 200
    assert response.json() == {"status": "running"}
    assert client.get("/api/admin/plugin-job-manager").json()["status"] == "running"
    assert sync_db.pluginJobManager.count_documents({}) == 1


def test_switching_to_the_current_state_is_a_no_op(api: Api) -> None:
    client = api.as_user("alice")
    for _ in range(2):
        response = client.put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
        assert response.status_code == 200
        assert response.json() == {"status": "stopped"}
    assert client.get("/api/admin/plugin-job-manager").json()["status"] == "stopped"


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
    assert api.as_user("alice").get("/api/admin/plugin-job-manager").json()["status"] == "running"


def manager_doc(manager_id: str, heartbeat_age_s: float, **fields: object) -> dict[str, object]:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
    return {
        "key": f"manager:{manager_id}", "managerId": manager_id, "host": "gpu-box", "pid": 4242,
        "startedAt": now - dt.timedelta(hours=1), "heartbeatAt": now - dt.timedelta(seconds=heartbeat_age_s),
        "slots": 2, "gpuSlots": 1, "runningJobs": [], "dockerAvailable": True, "dockerMessage": "Docker 28.2.2",
        "gpuRuntime": False, **fields,
    }


def test_the_state_lists_every_manager_with_its_heartbeat(api: Api, sync_db: Database) -> None:
    fresh = manager_doc("m1", 2, runningJobs=["01gr80z2v58f9jytq60snybgfa"])
    gone = manager_doc("m2", 600, host="old-box", dockerAvailable=False, dockerMessage="Cannot connect to Docker.")
    sync_db.pluginJobManager.insert_many([gone, fresh])
    sync_db.pluginJobManager.update_one({"key": "manager:m2"}, {"$set": {"startedAt": dt.datetime(2020, 1, 1)}})
    response = api.as_user("alice").get("/api/admin/plugin-job-manager")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "running"
    assert [(m["managerId"], m["alive"]) for m in body["managers"]] == [("m2", False), ("m1", True)]
    m1 = body["managers"][1]
    assert m1 == {
        "managerId": "m1", "host": "gpu-box", "pid": 4242, "alive": True, "slots": 2, "gpuSlots": 1,
        "runningJobs": ["01gr80z2v58f9jytq60snybgfa"], "dockerAvailable": True, "dockerMessage": "Docker 28.2.2",
        "gpuRuntime": False, "startedAt": m1["startedAt"], "heartbeatAt": m1["heartbeatAt"],
    }
    assert m1["heartbeatAt"].endswith("Z")
    assert body["managers"][0]["dockerMessage"] == "Cannot connect to Docker."


def test_the_switch_does_not_count_as_a_manager(api: Api, sync_db: Database) -> None:
    api.as_user("alice").put("/api/admin/plugin-job-manager/switch", json={"status": "stopped"})
    sync_db.pluginJobManager.insert_one(manager_doc("m1", 1))
    body = api.as_user("alice").get("/api/admin/plugin-job-manager").json()
    assert body["status"] == "stopped"
    assert [m["managerId"] for m in body["managers"]] == ["m1"]
