"""Attachments, feedback (spec 4.10 #45-#50) and the event stream of plug-in jobs.

Who may do what on plug-in d135… (groups.yaml): alice reads and manages feedback (sirius.org);
bob reads and gives personal feedback (vega, altair); carol gives personal and consensual
feedback (vega, altair); dave holds every role on every domain; frank only reads (all domains).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pymongo.database import Database

import job_manager.events
from circus_api.app import create_app
from circus_api.routes import plugin_job_results
from circus_api.settings import Settings
from tests.circus_api.conftest import TOKENS, Api
from tests.circus_api.tasks_harness import wait_until
from tests.circus_fixtures import FIXTURE_ROOT, load_fixtures
from tests.conftest import free_port

SIRIUS_JOB = "01dxgwv3k0medrvhdag4mpw9wa"  # finished; personal entries of alice and bob + bob's consensual one
FAILED_JOB = "01dxgwvhwhyjt8hd4srsf9z4te"  # sirius.org
VEGA_JOB = "01f5dt3qn9877g072t9y7h7pjp"  # finished, no feedback
QUEUED_JOB = "01gr80z2v58f9jytq60snybgfa"  # vega.org, in_queue

NO_READ = {"error": 'You do not have "readPlugin" privilege of this plugin.'}
NO_DOMAIN = {"error": "You do not have privilege to access this plugin-job."}
INVALID_PATH = {"error": "Invalid path prameter."}
FILE_NOT_FOUND = {"error": "File not found."}
CONSENSUAL_EXISTS = {"error": "A consensual feedback has been already registered."}
PERSONAL_EXISTS = {"error": "Personal feedback of this user has been already registered."}


def stored_feedbacks(sync_db: Database, job_id: str) -> list[dict[str, Any]]:
    job = sync_db.pluginJobs.find_one({"jobId": job_id})
    assert job is not None
    return list(job["feedbacks"])


# ---- attachments --------------------------------------------------------------------------------


@pytest.fixture
def results(api: Api, app_settings: Settings) -> Path:
    """The fixture's result files of SIRIUS_JOB (test.txt, sub/test2.txt), as a writable copy."""
    source = FIXTURE_ROOT / "plugin-results" / SIRIUS_JOB
    folder = app_settings.results_dir / SIRIUS_JOB
    for file in source.rglob("*"):
        if file.is_file():
            target = folder / file.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(file.read_bytes())
    return folder


def test_the_attachment_list_holds_every_file_and_folder_sorted(api: Api, results: Path) -> None:
    (results / "plugin-log.txt").write_text("log\n")
    (results / ".hidden").write_text("not listed, as CIRCUS's glob skips dot-files")
    response = api.as_user("alice").get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment")
    assert response.status_code == 200
    assert response.json() == ["plugin-log.txt", "sub", "sub/test2.txt", "test.txt"]


def test_a_job_without_a_result_folder_has_no_attachments(api: Api, results: Path) -> None:
    response = api.as_user("bob").get(f"/api/plugin-jobs/{VEGA_JOB}/attachment")
    assert (response.status_code, response.json()) == (200, [])


def test_the_attachment_list_leaves_out_links_leading_outside(api: Api, results: Path) -> None:
    (results / "passwd").symlink_to("/etc/passwd")
    (results / "copy.txt").symlink_to(results / "test.txt")
    response = api.as_user("alice").get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment")
    assert response.json() == ["copy.txt", "sub", "sub/test2.txt", "test.txt"]


def test_an_attachment_is_streamed_with_the_type_of_its_extension(api: Api, results: Path) -> None:
    client = api.as_user("alice")
    response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/test.txt")
    assert response.status_code == 200
    assert response.content == b"This is a test file"
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert "content-disposition" not in response.headers
    response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/sub/test2.txt")
    assert (response.status_code, response.content) == (200, b"Test file in subdirectory")

    files = {"results.json": "application/json", "image.png": "image/png", "volume.raw.gz": "application/octet-stream",
             "data.unknownextension": "application/octet-stream", "no-extension": "application/octet-stream"}
    for name in files:
        (results / name).write_bytes(b"\x00\x01")
    for name, expected in files.items():
        response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/{name}")
        assert response.status_code == 200, name
        assert response.headers["content-type"] == expected, name
        assert response.content == b"\x00\x01"


def test_a_path_leaving_the_job_folder_is_400(api: Api, results: Path, app_settings: Settings) -> None:
    neighbour = app_settings.results_dir / VEGA_JOB
    neighbour.mkdir()
    (neighbour / "secret.txt").write_text("another job's file")
    (results / "passwd").symlink_to("/etc/passwd")
    (results / "etc").symlink_to("/etc")
    (results / "other-job").symlink_to(neighbour)
    client = api.as_user("alice")
    # %2E%2E: the client would otherwise remove the dot segments before sending
    for path in (f"%2E%2E/{VEGA_JOB}/secret.txt", "sub/%2E%2E/%2E%2E/x", "%2E%2E", "/etc/passwd",
                 "passwd", "etc/passwd", "other-job/secret.txt"):
        response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/{path}")
        assert (response.status_code, response.json()) == (400, INVALID_PATH), path


def test_a_path_that_stays_inside_the_job_folder_is_served(api: Api, results: Path) -> None:
    (results / "link.txt").symlink_to("sub/test2.txt")
    client = api.as_user("alice")
    for path in ("sub/%2E%2E/test.txt", "./test.txt", "link.txt"):
        response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/{path}")
        assert response.status_code == 200, path


def test_a_missing_attachment_or_a_folder_is_404(api: Api, results: Path) -> None:
    (results / "dangling").symlink_to(results / "gone")
    client = api.as_user("alice")
    for path in ("nothing.txt", "sub/nothing.txt", "sub", "dangling"):
        response = client.get(f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/{path}")
        assert (response.status_code, response.json()) == (404, FILE_NOT_FOUND), path
    response = client.get(f"/api/plugin-jobs/{VEGA_JOB}/attachment/test.txt")
    assert response.status_code == 401  # alice sees no vega.org job: privileges come first


def test_attachments_of_an_unknown_job_are_404(api: Api, results: Path) -> None:
    for url in ("/api/plugin-jobs/nosuchjob/attachment", "/api/plugin-jobs/nosuchjob/attachment/test.txt"):
        response = api.as_user("alice").get(url)
        assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."}), url


def test_attachments_need_read_plugin_and_the_jobs_domains(api: Api, results: Path) -> None:
    for url in (f"/api/plugin-jobs/{SIRIUS_JOB}/attachment", f"/api/plugin-jobs/{SIRIUS_JOB}/attachment/test.txt"):
        for user, refusal in (("guest", NO_READ), ("eve", NO_READ), ("bob", NO_DOMAIN), ("carol", NO_DOMAIN)):
            response = api.as_user(user).get(url)
            assert (response.status_code, response.json()) == (401, refusal), (user, url)
        for user in ("frank", "dave"):  # readPlugin on the plug-in and sirius.org among their domains
            assert api.as_user(user).get(url).status_code == 200, (user, url)
        assert api.as_user(None).get(url).status_code == 401


# ---- feedback -----------------------------------------------------------------------------------

ENTRY = {
    "data": {"lesionCandidates": [{"id": 0, "value": 1}]},
    "actionLog": [{"date": "2024-05-06T07:08:09.123Z", "action": "select", "data": {"id": 0}},
                  {"date": "2024-05-06T07:08:10.000Z", "action": "register"}],
}


def feedback_url(job_id: str, kind: str) -> str:
    return f"/api/plugin-jobs/{job_id}/feedback/{kind}"


def test_the_feedback_list_holds_every_entry(api: Api) -> None:
    response = api.as_user("alice").get(f"/api/plugin-jobs/{SIRIUS_JOB}/feedback")
    assert response.status_code == 200
    assert [(e["userEmail"], e["isConsensual"]) for e in response.json()] == [
        ("alice@example.com", False), ("bob@example.com", False), ("bob@example.com", True)]
    assert response.json()[0] == {
        "feedbackId": "01grtpb4zhxmdcwcjpk4519nj3", "userEmail": "alice@example.com", "isConsensual": False,
        "data": {"lesionCandidates": []}, "actionLog": [], "createdAt": "2018-01-05T15:00:00.000Z"}


def test_the_feedback_list_needs_read_plugin_and_the_jobs_domains(api: Api) -> None:
    url = f"/api/plugin-jobs/{SIRIUS_JOB}/feedback"
    for user, refusal in (("guest", NO_READ), ("bob", NO_DOMAIN)):
        response = api.as_user(user).get(url)
        assert (response.status_code, response.json()) == (401, refusal), user
    assert api.as_user("frank").get(url).status_code == 200
    response = api.as_user("frank").get("/api/plugin-jobs/nosuchjob/feedback")
    assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."})


def test_a_personal_entry_is_stored_with_its_author_and_dates(api: Api, sync_db: Database) -> None:
    before = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    response = api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY)
    assert response.status_code == 200
    feedback_id = response.json()["feedbackId"]
    assert list(response.json()) == ["feedbackId"]
    assert len(feedback_id) == 26 and feedback_id == feedback_id.lower()
    [stored] = stored_feedbacks(sync_db, VEGA_JOB)
    assert stored["createdAt"] >= before
    assert stored == {
        "feedbackId": feedback_id, "userEmail": "bob@example.com", "isConsensual": False,
        "createdAt": stored["createdAt"], "data": ENTRY["data"],
        "actionLog": [{"date": dt.datetime(2024, 5, 6, 7, 8, 9, 123000), "action": "select", "data": {"id": 0}},
                      {"date": dt.datetime(2024, 5, 6, 7, 8, 10), "action": "register"}],
    }
    listed = api.as_user("bob").get(f"/api/plugin-jobs/{VEGA_JOB}/feedback").json()
    assert listed[0]["actionLog"][0]["date"] == "2024-05-06T07:08:09.123Z"


def test_an_empty_body_is_a_valid_entry(api: Api, sync_db: Database) -> None:
    response = api.as_user("carol").post(feedback_url(VEGA_JOB, "consensual"), json={})
    assert response.status_code == 200
    [stored] = stored_feedbacks(sync_db, VEGA_JOB)
    assert (stored["isConsensual"], stored["data"], stored["actionLog"]) == (True, None, [])


def test_one_personal_entry_per_user(api: Api, sync_db: Database) -> None:
    assert api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY).status_code == 200
    response = api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY)
    assert (response.status_code, response.json()) == (400, PERSONAL_EXISTS)
    for user in ("carol", "dave"):  # other users still may
        assert api.as_user(user).post(feedback_url(VEGA_JOB, "personal"), json=ENTRY).status_code == 200, user
    assert [e["userEmail"] for e in stored_feedbacks(sync_db, VEGA_JOB)] == [
        "bob@example.com", "carol@example.com", "dave@example.com"]


def test_nothing_is_added_after_the_consensual_entry(api: Api, sync_db: Database) -> None:
    assert api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY).status_code == 200
    # a consensual entry needs no personal entry of its author
    response = api.as_user("carol").post(feedback_url(VEGA_JOB, "consensual"), json=ENTRY)
    assert response.status_code == 200
    for user, kind in (("dave", "consensual"), ("carol", "consensual"), ("dave", "personal"), ("carol", "personal")):
        response = api.as_user(user).post(feedback_url(VEGA_JOB, kind), json=ENTRY)
        assert (response.status_code, response.json()) == (400, CONSENSUAL_EXISTS), (user, kind)
    # the consensual rule is reported first, even to a user who already has a personal entry
    response = api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY)
    assert (response.status_code, response.json()) == (400, CONSENSUAL_EXISTS)
    assert [(e["userEmail"], e["isConsensual"]) for e in stored_feedbacks(sync_db, VEGA_JOB)] == [
        ("bob@example.com", False), ("carol@example.com", True)]


def test_feedback_is_accepted_on_a_job_in_any_status(api: Api) -> None:
    for job_id in (QUEUED_JOB, VEGA_JOB):
        assert api.as_user("dave").post(feedback_url(job_id, "consensual"), json=ENTRY).status_code == 200


def test_feedback_needs_the_matching_input_role(api: Api, sync_db: Database) -> None:
    refusals = [
        ("frank", "personal", 'You do not have "inputPersonalFeedback" privilege of this plugin.'),
        ("guest", "personal", 'You do not have "inputPersonalFeedback" privilege of this plugin.'),
        ("bob", "consensual", 'You do not have "inputConsensualFeedback" privilege of this plugin.'),
        ("frank", "consensual", 'You do not have "inputConsensualFeedback" privilege of this plugin.'),
    ]
    for user, kind, message in refusals:
        response = api.as_user(user).post(feedback_url(VEGA_JOB, kind), json=ENTRY)
        assert (response.status_code, response.json()) == (401, {"error": message}), (user, kind)
    assert stored_feedbacks(sync_db, VEGA_JOB) == []
    # positive controls: the holders of each role
    assert api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY).status_code == 200
    assert api.as_user("carol").post(feedback_url(VEGA_JOB, "consensual"), json=ENTRY).status_code == 200


def test_feedback_needs_the_jobs_domains(api: Api, sync_db: Database) -> None:
    sync_db.pluginJobs.update_one({"jobId": SIRIUS_JOB}, {"$set": {"feedbacks": []}})
    for user, kind in (("carol", "personal"), ("carol", "consensual"), ("bob", "personal")):
        response = api.as_user(user).post(feedback_url(SIRIUS_JOB, kind), json=ENTRY)
        assert (response.status_code, response.json()) == (401, NO_DOMAIN), (user, kind)
    assert api.as_user("dave").post(feedback_url(SIRIUS_JOB, "personal"), json=ENTRY).status_code == 200


def test_privileges_are_checked_before_the_body(api: Api) -> None:
    response = api.as_user("frank").post(feedback_url(VEGA_JOB, "personal"), json={"bad": 1})
    assert response.status_code == 401
    response = api.as_user("bob").post(feedback_url("nosuchjob", "personal"), json=ENTRY)
    assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."})


@pytest.mark.parametrize("body, data_path", [
    ({"data": {}, "other": 1}, ""),
    ({"actionLog": {}}, ".actionLog"),
    ({"actionLog": [{"date": "2024-01-01T00:00:00Z", "action": "x", "extra": 1}]}, ".actionLog[0]"),
    ({"actionLog": [{"date": "yesterday", "action": "x"}]}, ".actionLog[0].date"),
    ({"actionLog": [{"date": "2024-01-01T00:00:00Z"}]}, ".actionLog[0]"),
    ({"actionLog": [{"date": "2024-01-01T00:00:00Z", "action": 3}]}, ".actionLog[0].action"),
    ({"actionLog": [{"date": "2024-01-01T00:00:00Z", "action": "x", "data": [1]}]}, ".actionLog[0].data"),
])
def test_a_malformed_feedback_body_is_400(api: Api, sync_db: Database, body: dict[str, Any], data_path: str) -> None:
    response = api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert [e["dataPath"] for e in response.json()["validationErrors"]] == [data_path]
    assert stored_feedbacks(sync_db, VEGA_JOB) == []


def delete_url(job_id: str, feedback_id: str) -> str:
    return f"/api/plugin-jobs/{job_id}/feedback/{feedback_id}"


def test_personal_entries_cannot_be_deleted_while_a_consensual_one_exists(api: Api, sync_db: Database) -> None:
    alice = api.as_user("alice")
    response = alice.delete(delete_url(SIRIUS_JOB, "01grtpb4zhxmdcwcjpk4519nj3"))
    assert (response.status_code, response.json()) == (
        400, {"error": "Cannot delete personal feedback when consensual feedback exists."})
    assert len(stored_feedbacks(sync_db, SIRIUS_JOB)) == 3
    response = alice.delete(delete_url(SIRIUS_JOB, "01grtppnyxbdherkv2krd2n72a"))  # the consensual one
    assert (response.status_code, response.content) == (204, b"")
    response = alice.delete(delete_url(SIRIUS_JOB, "01grtpb4zhxmdcwcjpk4519nj3"))
    assert response.status_code == 204
    assert [e["feedbackId"] for e in stored_feedbacks(sync_db, SIRIUS_JOB)] == ["01grtppgk4kvgx8q5htj5530rp"]


def test_deleting_all_clears_every_entry(api: Api, sync_db: Database) -> None:
    response = api.as_user("alice").delete(delete_url(SIRIUS_JOB, "all"))
    assert (response.status_code, response.content) == (204, b"")
    assert stored_feedbacks(sync_db, SIRIUS_JOB) == []
    # once cleared, feedback can be given again
    assert api.as_user("dave").post(feedback_url(SIRIUS_JOB, "personal"), json=ENTRY).status_code == 200


def test_deleting_an_unknown_entry_is_404(api: Api, sync_db: Database) -> None:
    for feedback_id in ("01grtpb4zhxmdcwcjpk4519nj4", "All"):
        response = api.as_user("alice").delete(delete_url(SIRIUS_JOB, feedback_id))
        assert (response.status_code, response.json()) == (404, {"error": "Feedback not found."}), feedback_id
    response = api.as_user("alice").delete(delete_url("nosuchjob", "all"))
    assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."})
    assert len(stored_feedbacks(sync_db, SIRIUS_JOB)) == 3


def test_deleting_feedback_needs_manage_feedback_and_the_jobs_domains(api: Api, sync_db: Database) -> None:
    for user, refusal in (
        ("frank", {"error": 'You do not have "manageFeedback" privilege of this plugin.'}),
        ("guest", {"error": 'You do not have "manageFeedback" privilege of this plugin.'}),
    ):
        response = api.as_user(user).delete(delete_url(SIRIUS_JOB, "all"))
        assert (response.status_code, response.json()) == (401, refusal), user
    assert len(stored_feedbacks(sync_db, SIRIUS_JOB)) == 3
    feedback_id = api.as_user("bob").post(feedback_url(VEGA_JOB, "personal"), json=ENTRY).json()["feedbackId"]
    response = api.as_user("alice").delete(delete_url(VEGA_JOB, feedback_id))  # manageFeedback, not vega.org
    assert (response.status_code, response.json()) == (401, NO_DOMAIN)
    assert api.as_user("dave").delete(delete_url(VEGA_JOB, feedback_id)).status_code == 204
    assert stored_feedbacks(sync_db, VEGA_JOB) == []


# ---- the event stream ---------------------------------------------------------------------------


def parse_events(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """Server-sent events from response lines; comments come out as {"comment": text}."""
    event: dict[str, Any] = {}
    for line in lines:
        if line.startswith(":"):
            yield {"comment": line[1:].strip()}
        elif not line:
            if event:
                yield event
            event = {}
        else:
            field, _, value = line.partition(":")
            event[field] = json.loads(value) if field == "data" else value.strip()
    if event:
        yield event


def test_a_finished_jobs_stream_is_its_state_then_the_end(api: Api) -> None:
    response = api.as_user("alice").get(f"/api/plugin-jobs/{SIRIUS_JOB}/events")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [e for e in parse_events(iter(response.text.splitlines())) if "comment" not in e]
    assert events == [{"event": "status", "data": {
        "jobId": SIRIUS_JOB, "status": "finished",
        "startedAt": "2018-01-01T12:00:00.000Z", "finishedAt": "2018-01-01T12:01:00.000Z"}}]


def test_a_failed_jobs_stream_carries_its_error(api: Api) -> None:
    response = api.as_user("frank").get(f"/api/plugin-jobs/{FAILED_JOB}/events")
    events = [e for e in parse_events(iter(response.text.splitlines())) if "comment" not in e]
    assert [e["data"] for e in events] == [{
        "jobId": FAILED_JOB, "status": "failed", "errorMessage": "Something went wrong",
        "startedAt": "2018-01-04T12:00:00.000Z", "finishedAt": "2018-01-04T12:01:00.000Z"}]


def test_the_stream_needs_read_plugin_and_the_jobs_domains(api: Api) -> None:
    url = f"/api/plugin-jobs/{SIRIUS_JOB}/events"
    for user, refusal in (("guest", NO_READ), ("bob", NO_DOMAIN)):
        response = api.as_user(user).get(url)
        assert (response.status_code, response.json()) == (401, refusal), user
    response = api.as_user("alice").get("/api/plugin-jobs/nosuchjob/events")
    assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."})


@contextmanager
def live_server(settings: Settings) -> Iterator[httpx.Client]:
    """The app under a real uvicorn (an endless stream cannot be read in-process), as bob."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    headers = {"Authorization": f"Bearer {TOKENS['bob']}"}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", headers=headers, timeout=20) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def add_event(sync_db: Database, seq: int, kind: str, data: dict[str, Any]) -> None:
    sync_db.pluginJobEvents.insert_one({"jobId": QUEUED_JOB, "seq": seq, "kind": kind, "data": data,
                                        "createdAt": dt.datetime.now(dt.UTC).replace(tzinfo=None)})


def test_a_running_job_streams_status_progress_and_log_until_it_ends(
    app_settings: Settings, sync_db: Database
) -> None:
    load_fixtures(sync_db)
    started = dt.datetime(2024, 1, 2, 3, 4, 5)
    # the job started before the client connects: it gets the state and the latest progress first
    sync_db.pluginJobs.update_one({"jobId": QUEUED_JOB}, {"$set": {"status": "processing", "startedAt": started}})
    add_event(sync_db, 1, "status", {"status": "processing"})
    add_event(sync_db, 2, "progress", {"progress": 0.1, "message": "Loading"})
    add_event(sync_db, 3, "log", {"lines": ["step one"]})
    add_event(sync_db, 4, "progress", {"progress": 0.2, "message": "Segmenting"})
    received: list[dict[str, Any]] = []
    with live_server(app_settings) as client, client.stream("GET", f"/plugin-jobs/{QUEUED_JOB}/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["x-accel-buffering"] == "no"
        for event in parse_events(stream.iter_lines()):
            received.append(event)
            if len(received) == 2:  # the snapshot is out: the job goes on
                add_event(sync_db, 5, "log", {"lines": ["step two", "step three"]})
                add_event(sync_db, 6, "progress", {"progress": 0.9, "message": None})
                finished = dt.datetime(2024, 1, 2, 3, 9, 0)
                sync_db.pluginJobs.update_one(
                    {"jobId": QUEUED_JOB}, {"$set": {"status": "finished", "finishedAt": finished}})
                add_event(sync_db, 7, "status", {"status": "finished"})
        # the loop ends because the server ended the stream after the terminal status
    assert received == [
        {"event": "status", "data": {"jobId": QUEUED_JOB, "status": "processing",
                                     "startedAt": "2024-01-02T03:04:05.000Z"}},
        {"event": "progress", "data": {"progress": 0.2, "message": "Segmenting"}, "id": "4"},
        {"event": "log", "data": {"lines": ["step two", "step three"]}, "id": "5"},
        {"event": "progress", "data": {"progress": 0.9, "message": None}, "id": "6"},
        {"event": "status", "data": {"jobId": QUEUED_JOB, "status": "finished",
                                     "startedAt": "2024-01-02T03:04:05.000Z",
                                     "finishedAt": "2024-01-02T03:09:00.000Z"}, "id": "7"},
    ]


def test_a_status_change_without_an_event_ends_the_stream_too(
    app_settings: Settings, sync_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_fixtures(sync_db)
    monkeypatch.setattr(plugin_job_results, "KEEP_ALIVE_S", 0.2)
    received: list[dict[str, Any]] = []
    with live_server(app_settings) as client, client.stream("GET", f"/plugin-jobs/{QUEUED_JOB}/events") as stream:
        for event in parse_events(stream.iter_lines()):
            received.append(event)
            if "comment" in event:
                # kept alive while waiting; now the job is cancelled through the API (no event)
                sync_db.pluginJobs.update_one({"jobId": QUEUED_JOB}, {"$set": {"status": "cancelled"}})
    events = [e for e in received if "comment" not in e]
    assert {"comment": ""} in received
    assert events == [
        {"event": "status", "data": {"jobId": QUEUED_JOB, "status": "in_queue",
                                     "startedAt": "2021-07-01T15:00:00.000Z"}},
        {"event": "status", "data": {"jobId": QUEUED_JOB, "status": "cancelled",
                                     "startedAt": "2021-07-01T15:00:00.000Z"}},
    ]


def test_a_client_that_leaves_stops_the_polling(
    app_settings: Settings, sync_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_fixtures(sync_db)
    polls: list[int] = []
    real_events_since = job_manager.events.events_since

    async def counted(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        polls.append(1)
        return await real_events_since(*args, **kwargs)

    monkeypatch.setattr(job_manager.events, "events_since", counted)
    with live_server(app_settings) as client:
        with client.stream("GET", f"/plugin-jobs/{QUEUED_JOB}/events") as stream:
            events = parse_events(stream.iter_lines())  # kept: dropping it would close the stream
            assert next(events)["data"]["status"] == "in_queue"
            wait_until(lambda: len(polls) >= 3)
        time.sleep(0.5)  # the server notices the disconnection
        after_leaving = len(polls)
        time.sleep(1.0)
        assert len(polls) == after_leaving
        assert client.get(f"/plugin-jobs/{QUEUED_JOB}/feedback").status_code == 200
