"""Tasks end to end: the debug task runs on a real dramatiq worker over a real Redis."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
import uvicorn
from pymongo.database import Database

from circus_api.app import create_app
from circus_api.services.tasks import WORKER_LOST, sweep_downloads
from circus_api.settings import Settings
from tests.circus_api.conftest import TOKENS, Api
from tests.circus_api.tasks_harness import flush_redis, running_worker, wait_until
from tests.circus_fixtures import load_fixtures
from tests.conftest import free_port


@pytest.fixture
def app_settings(settings: Settings, redis_url: str) -> Settings:
    flush_redis(redis_url)
    return replace(settings, redis_url=redis_url, debug=True)


@pytest.fixture
def worker(api: Api, app_settings: Settings) -> Iterator[None]:
    with running_worker(app_settings):
        yield


def start_debug_task(api: Api, **body: object) -> str:
    response = api.as_user("alice").post("/api/tasks/debug-task", json={"steps": 2, "tick": 10, **body})
    assert response.status_code == 201, response.text
    return str(response.json()["taskId"])


def wait_for_end(api: Api, task_id: str) -> dict[str, object]:
    def ended() -> bool:
        return api.as_user("alice").get(f"/api/tasks/{task_id}").json()["status"] != "processing"

    wait_until(ended)
    return dict(api.as_user("alice").get(f"/api/tasks/{task_id}").json())


def test_a_task_runs_on_a_worker_and_its_download_is_served(api: Api, worker: None) -> None:
    task_id = start_debug_task(api, dl=True)
    task = wait_for_end(api, task_id)
    assert task["status"] == "finished"
    assert task["finishedMessage"] == "Finished."
    assert task["name"] == "Debug Task"
    assert task["downloadFileType"] == "application/octet-stream"

    response = api.as_user("alice").get(f"/api/tasks/{task_id}/download")
    assert response.status_code == 200
    assert response.content == b"Hello."
    assert response.headers["content-disposition"] == 'attachment; filename="download.bin"'
    assert response.headers["content-length"] == "6"


def test_a_failing_task_ends_with_its_error_message(api: Api, worker: None) -> None:
    task = wait_for_end(api, start_debug_task(api, fails=True))
    assert task["status"] == "error"
    assert task["errorMessage"] == "The debug task failed as requested."
    assert task["endedAt"] is not None


def test_download_rules(api: Api, worker: None, sync_db: Database) -> None:
    alice = api.as_user("alice")
    plain = wait_for_end(api, start_debug_task(api))
    assert alice.get(f"/api/tasks/{plain['taskId']}/download").json() == {
        "error": "This task is not associated with a downloadable file."
    }
    slow = start_debug_task(api, dl=True, steps=20, tick=100)
    response = alice.get(f"/api/tasks/{slow}/download")
    assert response.status_code == 409
    assert response.json() == {"error": "This task has not been completed."}
    assert api.as_user("bob").get(f"/api/tasks/{slow}/download").json() == {"error": "You cannot access this task."}
    assert alice.get("/api/tasks/nonexistent/download").status_code == 404


def test_dismissing_needs_a_finished_task_and_deletes_its_download(
    api: Api, worker: None, app_settings: Settings
) -> None:
    alice = api.as_user("alice")
    slow = start_debug_task(api, steps=20, tick=100)
    response = alice.patch(f"/api/tasks/{slow}", json={"dismissed": True})
    assert response.status_code == 400
    assert response.json() == {"error": "The task is not completed yet."}

    task_id = start_debug_task(api, dl=True)
    wait_for_end(api, task_id)
    assert (app_settings.download_dir / task_id).is_file()
    assert alice.patch(f"/api/tasks/{task_id}", json={"dismissed": True}).status_code == 204
    assert alice.get(f"/api/tasks/{task_id}").json()["dismissed"] is True
    assert not (app_settings.download_dir / task_id).exists()
    response = alice.get(f"/api/tasks/{task_id}/download")
    assert response.status_code == 404
    assert alice.patch(f"/api/tasks/{task_id}", json={"dismissed": "yes"}).status_code == 400


def test_a_task_whose_worker_died_is_reported_as_an_error(api: Api, sync_db: Database) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    sync_db.tasks.insert_one({
        "taskId": "01deadtask0000000000000000", "name": "Series import", "userEmail": "alice@example.com",
        "status": "processing", "errorMessage": None, "finishedMessage": None, "endedAt": None,
        "downloadFileType": None, "dismissed": False, "createdAt": now, "updatedAt": now,
    })
    items = api.as_user("alice").get("/api/tasks", params={"filter": '{"taskId": "01deadtask0000000000000000"}'})
    assert items.status_code == 200
    (task,) = items.json()["items"]
    assert task["status"] == "error"
    assert task["errorMessage"] == WORKER_LOST


def test_task_search_is_limited_to_the_callers_tasks(api: Api) -> None:
    alice = api.as_user("alice")
    body = alice.get("/api/tasks").json()
    assert body["page"] == 1
    assert all(task["userEmail"] == "alice@example.com" for task in body["items"])
    assert alice.get("/api/tasks", params={"filter": "{bad"}).json() == {"error": "Filter string could not be parsed."}
    repeated = alice.get("/api/tasks?filter=%7B%7D&filter=%7B%7D")
    assert repeated.status_code == 400
    assert alice.get("/api/tasks", params={"filter": '{"userEmail": "x"}'}).json() == {"error": "Bad filter."}


def test_another_users_task_is_refused(api: Api, sync_db: Database) -> None:
    (task,) = list(sync_db.tasks.find({"userEmail": {"$ne": "alice@example.com"}}).limit(1))
    response = api.as_user("alice").get(f"/api/tasks/{task['taskId']}")
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot access this task."}
    assert api.as_user("alice").get("/api/tasks/no-such-task").status_code == 404


def test_old_downloads_are_swept(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    old.write_text("x")
    new.write_text("y")
    eight_days_ago = time.time() - 8 * 24 * 3600
    os.utime(old, (eight_days_ago, eight_days_ago))
    assert sweep_downloads(tmp_path) == 1
    assert not old.exists() and new.exists()


@pytest.mark.slow
def test_the_progress_stream_relays_a_tasks_events_over_a_real_server(
    app_settings: Settings, sync_db: Database
) -> None:
    load_fixtures(sync_db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app_settings), port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    headers = {"Authorization": f"Bearer {TOKENS['alice']}"}
    base = f"http://127.0.0.1:{port}/api"
    try:
        with running_worker(app_settings), httpx.Client(base_url=base, headers=headers, timeout=20) as client:
            slow = client.post("/tasks/debug-task", json={"steps": 100, "tick": 50}).json()["taskId"]
            wait_until(lambda: client.get(f"/tasks/{slow}").json()["status"] == "processing")
            time.sleep(0.2)  # let the worker report progress for the running task
            received: list[tuple[str, dict[str, object]]] = []
            with client.stream("GET", "/tasks/report") as stream:
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert stream.headers["x-accel-buffering"] == "no"
                quick: str | None = None
                event = ""
                for line in stream.iter_lines():
                    if line.startswith("event:"):
                        event = line.split(":", 1)[1].strip()
                    elif line.startswith("data:"):
                        received.append((event, json.loads(line.split(":", 1)[1])))
                        if quick is None:
                            # the first event is the snapshot of the running task; now start another
                            quick = client.post("/tasks/debug-task", json={"steps": 3, "tick": 20}).json()["taskId"]
                        elif event == "finish" and received[-1][1]["taskId"] == quick:
                            break
            first_event, first_data = received[0]
            assert first_event == "progress" and first_data["taskId"] == slow
            quick_events = [(e, d) for e, d in received if d["taskId"] == quick]
            assert quick_events[0] == ("progress", {"taskId": quick, "message": "Starting the task."})
            assert ("progress", {"taskId": quick, "message": "Step 3 of 3", "finished": 3, "total": 3}) in quick_events
            assert quick_events[-1] == ("finish", {"taskId": quick, "message": "Finished."})
    finally:
        server.should_exit = True
        thread.join(timeout=10)
