"""`GET /admin/plugin-job-queue` (spec 4.11 #80, plugins-and-jobs 3.4): every queue row, in queue
order, as full job documents."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from bson import ObjectId
from pymongo.database import Database

from tests.circus_api.conftest import Api

EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
URL = "/api/admin/plugin-job-queue"


def job(job_id: str, user: str, status: str) -> dict[str, Any]:
    now = dt.datetime(2022, 1, 1)
    return {
        "jobId": job_id, "pluginId": EMPTY, "userEmail": f"{user}@example.com", "status": status,
        "errorMessage": None, "results": None, "startedAt": None, "finishedAt": None, "feedbacks": [],
        "series": [{"seriesUid": "111.222.333.444.777", "partialVolumeDescriptor": {"start": 1, "end": 5, "delta": 1}}],
        "createdAt": now, "updatedAt": now,
    }


# (jobId, registerer, queue state, priority) in insertion order
ROWS = [
    ("job-a", "bob", "wait", 0),
    ("job-b", "carol", "processing", 0),
    ("job-c", "bob", "wait", 5),
    ("job-d", "carol", "wait", 0),
    ("job-e", "bob", "processing", 9),
]


@pytest.fixture
def queue(api: Api, sync_db: Database) -> None:
    for number, (job_id, user, state, priority) in enumerate(ROWS):
        sync_db.pluginJobs.insert_one(job(job_id, user, "in_queue" if state == "wait" else "processing"))
        sync_db.pluginJobQueue.insert_one({
            # ascending ObjectIds: the insertion order that breaks priority ties
            "_id": ObjectId(f"{number:024x}"), "jobId": job_id, "priority": priority,
            "payload": {"pluginId": EMPTY, "series": []}, "state": state,
            "createdAt": dt.datetime(2022, 1, 1), "updatedAt": dt.datetime(2022, 1, 1), "startedAt": None,
        })


def listed(api: Api, user: str = "alice", url: str = URL, **params: str) -> tuple[list[str], int, int]:
    response = api.as_user(user).get(url, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return [item["jobId"] for item in body["items"]], body["totalItems"], body["page"]


@pytest.mark.usefixtures("queue")
def test_waiting_rows_by_default_in_queue_order(api: Api) -> None:
    assert listed(api) == (["job-c", "job-a", "job-d"], 3, 1)
    for state in ("bogus", ""):
        assert listed(api, state=state) == (["job-c", "job-a", "job-d"], 3, 1)


@pytest.mark.usefixtures("queue")
def test_processing_or_all_rows(api: Api) -> None:
    assert listed(api, state="processing") == (["job-e", "job-b"], 2, 1)
    assert listed(api, state="all") == (["job-e", "job-c", "job-a", "job-b", "job-d"], 5, 1)
    assert listed(api, state="all", limit="2", page="2") == (["job-a", "job-b"], 5, 2)
    assert listed(api, state="all", limit="2", page="9") == ([], 5, 9)


@pytest.mark.usefixtures("queue")
def test_items_are_the_full_job_documents(api: Api) -> None:
    item = api.as_user("alice").get(URL).json()["items"][0]
    assert item == {
        **job("job-c", "bob", "in_queue"),
        "createdAt": "2022-01-01T00:00:00.000Z", "updatedAt": "2022-01-01T00:00:00.000Z",
    }


@pytest.mark.usefixtures("queue")
def test_a_row_without_its_job_document_fails_the_whole_request(api: Api, sync_db: Database) -> None:
    sync_db.pluginJobs.delete_one({"jobId": "job-d"})
    response = api.as_user("alice").get(URL)
    assert (response.status_code, response.json()) == (404, {"error": "This job does not exist."})
    # a page without that row is fine
    assert listed(api, limit="2") == (["job-c", "job-a"], 3, 1)


@pytest.mark.usefixtures("queue")
def test_bad_paging_is_400(api: Api) -> None:
    for params in ({"limit": "0"}, {"page": "-1"}, {"limit": "x"}):
        assert api.as_user("alice").get(URL, params=params).status_code == 400


@pytest.mark.usefixtures("queue")
def test_the_admin_queue_needs_manage_server(api: Api) -> None:
    response = api.as_user("bob").get(URL)
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have sufficient privilege to access this resource. manageServer"}


@pytest.mark.usefixtures("queue")
def test_the_user_queue_keeps_the_jobs_the_caller_registered(api: Api, sync_db: Database) -> None:
    # Re-impl: CIRCUS filtered on a userEmail the queue rows never carry (always empty)
    user_url = "/api/plugin-job-queue"
    assert listed(api, "bob", user_url) == (["job-c", "job-a"], 2, 1)
    assert listed(api, "bob", user_url, state="all") == (["job-e", "job-c", "job-a"], 3, 1)
    assert listed(api, "carol", user_url, state="processing") == (["job-b"], 1, 1)
    assert listed(api, "bob", user_url, state="all", limit="1", page="3") == (["job-a"], 3, 3)
    assert listed(api, "alice", user_url) == ([], 0, 1)
    # a row whose job document is gone has no known registerer: left out
    sync_db.pluginJobs.delete_one({"jobId": "job-a"})
    assert listed(api, "bob", user_url) == (["job-c"], 1, 1)
