"""Plug-in jobs (spec 4.10 #40-#44, plugins-and-jobs 2): registration, cancel/invalidate, search,
reading one job, and the caller's queue (#51).

Fixture roles on MOCK-EMPTY (EMPTY): bob and carol execute it (domains vega.org, altair.org),
carol also manages its jobs and sees its patient information; dave holds carol's roles plus the
admin group (sirius.org too); frank only reads it (every domain, no global personalInfoView);
alice reads it (sirius.org); guest holds nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from circus_api.imaging.dicom_files import write_image
from circus_api.imaging.dicom_import import parse_dicom
from circus_api.services import plugin_jobs as plugin_job_service
from circus_api.settings import Settings
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.fixture_files import FOOT_FIRST_UID, HEAD_FIRST_UID, fixture_files, import_files

EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
UNREAD = "74c50a99530ef149c16bc6f0cf71b987470282c54e436e9bec6da704f1fcac9c"  # nobody holds a role on it
VEGA_236 = "111.222.333.444.777"  # vega.org, CT, images 1-236, no files
ALTAIR = "222.222.333.444.777"  # altair.org, images 1-236
SIRIUS = "111.222.333.444.555"  # sirius.org, CT, images 1-150
UNKNOWN_UID = "9.8.7.6.5"
FINISHED_SIRIUS = "01dxgwv3k0medrvhdag4mpw9wa"  # EMPTY, finished, series 555 (CT) + 666 (MR), sirius.org
INVALIDATED = "01dxgwvcw65d9av37p2bsy57vb"  # UNREAD, vega.org
FAILED_SIRIUS = "01dxgwvhwhyjt8hd4srsf9z4te"  # EMPTY, failed, series 444 (CR), sirius.org
BOB_FINISHED = "01f5dt3qn9877g072t9y7h7pjp"  # EMPTY, finished, bob's, VEGA_236 3-7-2
BOB_IN_QUEUE = "01gr80z2v58f9jytq60snybgfa"  # EMPTY, in_queue (but no queue row), bob's, VEGA_236 3-7-2
DAVE_JOBS = "01ezahm939cbyfk73g3jhw1d0b"  # dave's my list of jobs: FINISHED_SIRIUS
BOB_SERIES_LIST = "01ex36wt9c94s93j0rmk98nsj0"
JOB_ID = re.compile(r"^[0-9a-z]{26}$")
EXECUTE_REFUSED = {"error": 'You do not have "executePlugin" privilege of this plugin.'}
DUPLICATE = {"error": "There is a duplicate job that is already registered."}
DOMAIN_REFUSED = {"error": "You do not have privilege to access this plugin-job."}
READ_REFUSED = {"error": 'You do not have "readPlugin" privilege of this plugin.'}
INVALIDATE_REFUSED = {"error": "You do not have permission to invalidate this job."}
PATIENT_SEARCH_REFUSED = {"error": "You cannot search using patient information."}


def pvd(start: int, end: int, delta: int = 1) -> dict[str, int]:
    return {"start": start, "end": end, "delta": delta}


def new_job(*series: tuple[str, Any], plugin: str = EMPTY, **extra: Any) -> dict[str, Any]:
    return {
        "pluginId": plugin,
        "series": [{"seriesUid": uid, "partialVolumeDescriptor": descriptor} for uid, descriptor in series],
        **extra,
    }


def counts(db: Database) -> tuple[int, int]:
    return db.pluginJobs.count_documents({}), db.pluginJobQueue.count_documents({})


@pytest.fixture
def oriented_series(api: Api, app_settings: Settings, sync_db: Database) -> None:
    """CIRCUS's head-first and foot-first test series (images 1-10) in vega.org, files included."""
    for prefix in ("head-first", "foot-first"):
        files = fixture_files(prefix)
        import_files(app_settings.dicom_dir, files)
        parsed = parse_dicom(files[0])
        now = dt.datetime(2020, 1, 1)
        sync_db.series.insert_one({
            **parsed.series_fields, "seriesUid": parsed.series_uid, "images": "1-10", "domain": "vega.org",
            "createdAt": now, "updatedAt": now,
        })


def store_files(dicom_dir: Path, series_uid: str, numbers: range) -> None:
    """Placeholder files: the coverage check only looks at which image numbers are stored."""
    for number in numbers:
        write_image(dicom_dir, series_uid, number, b"not read")


# ---- POST /plugin-jobs ----------------------------------------------------------------------


@pytest.mark.usefixtures("oriented_series")
def test_an_executor_registers_a_job_and_its_queue_row_together(api: Api, sync_db: Database) -> None:
    body = new_job((HEAD_FIRST_UID, "auto"), (FOOT_FIRST_UID, "auto"))
    response = api.as_user("bob").post("/api/plugin-jobs/", json=body)
    assert response.status_code == 201, response.text
    job_id = response.json()["jobId"]
    assert response.json() == {"jobId": job_id}
    assert JOB_ID.fullmatch(job_id)

    series = [
        {"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd(1, 10)},
        {"seriesUid": FOOT_FIRST_UID, "partialVolumeDescriptor": pvd(10, 1, -1)},
    ]
    job = sync_db.pluginJobs.find_one({"jobId": job_id}, {"_id": 0})
    assert job is not None
    assert job == {
        "jobId": job_id, "pluginId": EMPTY, "series": series, "userEmail": "bob@example.com",
        "status": "in_queue", "errorMessage": None, "results": None, "startedAt": None, "finishedAt": None,
        "feedbacks": [], "createdAt": job["createdAt"], "updatedAt": job["createdAt"],
    }
    row = sync_db.pluginJobQueue.find_one({"jobId": job_id}, {"_id": 0})
    assert row is not None
    assert row["priority"] == 0
    assert row["state"] == "wait"
    assert row["startedAt"] is None
    assert row["payload"] == {"pluginId": EMPTY, "series": series}
    # the pseudo-locks leave nothing behind on the series
    assert sync_db.series.count_documents({"myLock": {"$exists": True}}) == 0


@pytest.mark.usefixtures("oriented_series")
def test_priority_goes_to_the_queue_row_and_force_into_its_payload(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").post(
        "/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(2, 9)), priority=5, force=True)
    )
    assert response.status_code == 201, response.text
    row = sync_db.pluginJobQueue.find_one({"jobId": response.json()["jobId"]})
    assert row is not None
    assert row["priority"] == 5
    assert row["payload"] == {
        "pluginId": EMPTY, "series": [{"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd(2, 9)}],
        "force": True,
    }
    job = sync_db.pluginJobs.find_one({"jobId": response.json()["jobId"]})
    assert job is not None and "priority" not in job and "force" not in job


@pytest.mark.usefixtures("oriented_series")
def test_required_private_tags_and_integral_floats_are_kept_as_sent(api: Api, sync_db: Database) -> None:
    body = {"pluginId": EMPTY, "series": [{
        "seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": {"start": 1.0, "end": 5.0, "delta": 1.0},
        "requiredPrivateTags": "0009,1001",
    }]}
    response = api.as_user("bob").post("/api/plugin-jobs", json=body)
    assert response.status_code == 201, response.text
    job = sync_db.pluginJobs.find_one({"jobId": response.json()["jobId"]})
    assert job is not None
    assert job["series"] == [
        {"seriesUid": HEAD_FIRST_UID, "partialVolumeDescriptor": pvd(1, 5), "requiredPrivateTags": "0009,1001"}
    ]


@pytest.mark.usefixtures("oriented_series")
def test_the_same_request_again_is_a_duplicate_unless_forced(api: Api, sync_db: Database) -> None:
    body = new_job((HEAD_FIRST_UID, "auto"), (FOOT_FIRST_UID, pvd(10, 1, -1)))
    assert api.as_user("bob").post("/api/plugin-jobs", json=body).status_code == 201
    before = counts(sync_db)
    # `auto` resolves to the same descriptor; priority and requiredPrivateTags are not compared
    again = new_job((HEAD_FIRST_UID, pvd(1, 10)), (FOOT_FIRST_UID, {"delta": -1, "end": 1, "start": 10}), priority=3)
    again["series"][0]["requiredPrivateTags"] = "0009,1001"
    response = api.as_user("carol").post("/api/plugin-jobs", json=again)
    assert (response.status_code, response.json()) == (400, DUPLICATE)
    assert counts(sync_db) == before
    response = api.as_user("carol").post("/api/plugin-jobs", json={**again, "force": True})
    assert response.status_code == 201
    assert counts(sync_db) == (before[0] + 1, before[1] + 1)


@pytest.mark.usefixtures("oriented_series")
def test_another_descriptor_order_or_plugin_is_not_a_duplicate(api: Api, sync_db: Database) -> None:
    assert api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 10)))).status_code == 201
    others = [
        new_job((HEAD_FIRST_UID, pvd(1, 9))),
        new_job((HEAD_FIRST_UID, pvd(1, 9, 2))),
        new_job((HEAD_FIRST_UID, pvd(1, 10)), (FOOT_FIRST_UID, pvd(1, 10))),
        new_job((FOOT_FIRST_UID, pvd(1, 10)), (HEAD_FIRST_UID, pvd(1, 10))),
    ]
    for body in others:
        response = api.as_user("bob").post("/api/plugin-jobs", json=body)
        assert response.status_code == 201, (body, response.text)
    # the order of series matters: the reversed pair is not a duplicate of the pair above, but
    # each of them again is
    response = api.as_user("bob").post("/api/plugin-jobs", json=others[3])
    assert (response.status_code, response.json()) == (400, DUPLICATE)


@pytest.mark.parametrize("status", ["invalidated", "failed", "cancelled"])
@pytest.mark.usefixtures("oriented_series")
def test_invalidated_failed_and_cancelled_jobs_are_no_duplicates(api: Api, sync_db: Database, status: str) -> None:
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 10))))
    sync_db.pluginJobs.update_one({"jobId": response.json()["jobId"]}, {"$set": {"status": status}})
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 10))))
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("status", ["processing", "finished"])
@pytest.mark.usefixtures("oriented_series")
def test_processing_and_finished_jobs_are_duplicates(api: Api, sync_db: Database, status: str) -> None:
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 10))))
    sync_db.pluginJobs.update_one({"jobId": response.json()["jobId"]}, {"$set": {"status": status}})
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 10))))
    assert (response.status_code, response.json()) == (400, DUPLICATE)


@pytest.mark.usefixtures("oriented_series")
def test_creation_needs_execute_plugin_on_the_plugin(api: Api, sync_db: Database) -> None:
    # Re-impl: CIRCUS forgot this check; frank reads the plug-in and has every domain
    before = counts(sync_db)
    for user in ("frank", "guest"):
        response = api.as_user(user).post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto")))
        assert (response.status_code, response.json()) == (401, EXECUTE_REFUSED)
    assert counts(sync_db) == before
    # positive control: the same request by an executor
    assert api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto"))).status_code == 201


@pytest.mark.usefixtures("oriented_series")
def test_an_unknown_plugin_is_404_before_the_role_is_checked(api: Api, sync_db: Database) -> None:
    before = counts(sync_db)
    for user in ("bob", "guest"):
        response = api.as_user(user).post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto"), plugin="f" * 64))
        assert response.status_code == 404
        assert response.json() == {"error": "This plug-in does not exist."}
    # a plug-in that exists but that carol may not execute
    response = api.as_user("carol").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto"), plugin=UNREAD))
    assert (response.status_code, response.json()) == (401, EXECUTE_REFUSED)
    assert counts(sync_db) == before


@pytest.mark.usefixtures("oriented_series")
def test_auto_is_resolved_before_the_plugin_is_looked_up(api: Api) -> None:
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((UNKNOWN_UID, "auto"), plugin="f" * 64))
    assert (response.status_code, response.json()) == (400, {"error": "Nonexistent series."})


def test_auto_on_a_series_without_files_is_400(api: Api) -> None:
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((VEGA_236, "auto")))
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Cannot determine the partial volume descriptor of series {VEGA_236}: no image."
    }


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ([(UNKNOWN_UID, pvd(1, 10))], "Nonexistent series."),
        ([(UNKNOWN_UID, "auto")], "Nonexistent series."),
        ([(VEGA_236, {"start": 1, "end": 10})], 'Invalid partial volume descriptor: {"start":1,"end":10}'),
        ([(VEGA_236, pvd(10, 1, 1))], 'Invalid partial volume descriptor: {"start":10,"end":1,"delta":1}'),
        ([(VEGA_236, pvd(1, 237))], "Specified range is invalid."),
        ([(SIRIUS, pvd(1, 10))], "You cannot access this series."),
        ([(VEGA_236, pvd(1, 10)), (ALTAIR, pvd(1, 10))], "All series must belong to the same domain."),
        # the job manager's coverage check (Re-impl: 400): the repository holds no file of it
        ([(VEGA_236, pvd(1, 10))], f"Series {VEGA_236} not found."),
    ],
)
def test_series_failures_are_400_and_write_nothing(
    api: Api, sync_db: Database, series: list[tuple[str, Any]], message: str
) -> None:
    before = counts(sync_db)
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job(*series))
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert counts(sync_db) == before


def test_the_repository_must_hold_every_image_the_descriptor_selects(
    api: Api, app_settings: Settings, sync_db: Database
) -> None:
    store_files(app_settings.dicom_dir, VEGA_236, range(1, 6))
    store_files(app_settings.dicom_dir, VEGA_236, range(7, 11))
    before = counts(sync_db)
    for descriptor in (pvd(1, 10), pvd(2, 10, 2), pvd(4, 8, 2)):
        response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((VEGA_236, descriptor)))
        assert response.status_code == 400
        assert response.json() == {"error": (
            f"Series {VEGA_236} does not contain enough images specified by the partialVolumeDescriptor.\n"
            "Images in the repository: 1-5,7-10"
        )}
    assert counts(sync_db) == before
    # positive controls: descriptors that skip the missing image
    for descriptor in (pvd(1, 5), pvd(1, 9, 2), pvd(10, 7, -1)):
        response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((VEGA_236, descriptor)))
        assert response.status_code == 201, (descriptor, response.text)


@pytest.mark.usefixtures("oriented_series")
def test_a_failing_job_insert_leaves_no_queue_row(
    api: Api, sync_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the job ID is taken: the job insert fails after the enqueue, in the same transaction
    taken = "01hzzzzzzzzzzzzzzzzzzzzzzz"
    monkeypatch.setattr(plugin_job_service, "new_ulid", lambda: taken)
    sync_db.pluginJobs.insert_one({"jobId": taken, "pluginId": EMPTY, "series": [], "status": "failed"})
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto")))
    assert response.status_code == 500
    assert sync_db.pluginJobQueue.count_documents({"jobId": taken}) == 0


@pytest.mark.usefixtures("oriented_series")
def test_a_failing_enqueue_leaves_no_job_document(
    api: Api, sync_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken = "01hzzzzzzzzzzzzzzzzzzzzzzy"
    monkeypatch.setattr(plugin_job_service, "new_ulid", lambda: taken)
    sync_db.pluginJobQueue.insert_one({"jobId": taken, "priority": 0, "payload": {}, "state": "processing"})
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto")))
    assert response.status_code == 500
    assert sync_db.pluginJobs.count_documents({"jobId": taken}) == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"pluginId": EMPTY}, ""),
        ({"pluginId": EMPTY, "series": []}, ".series"),
        (new_job((HEAD_FIRST_UID, "automatic")), ".series[0].partialVolumeDescriptor"),
        (new_job((HEAD_FIRST_UID, pvd(1, 2)), force=False), ".force"),
        (new_job((HEAD_FIRST_UID, pvd(1, 2)), priority=1.5), ".priority"),
        (new_job((HEAD_FIRST_UID, pvd(1, 2)), owner="x"), ""),
        (new_job(("1.2.x", pvd(1, 2))), ".series[0].seriesUid"),
        ({"pluginId": EMPTY, "series": [{"seriesUid": HEAD_FIRST_UID}]}, ".series[0]"),
    ],
)
def test_a_malformed_body_is_400(api: Api, body: dict[str, Any], path: str) -> None:
    response = api.as_user("bob").post("/api/plugin-jobs", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert path in [error["dataPath"] for error in response.json()["validationErrors"]]


# ---- PATCH /plugin-jobs/:jobId --------------------------------------------------------------


@pytest.fixture
def queued_job(api: Api, oriented_series: None) -> str:
    """A job bob registered; its queue row is waiting."""
    response = api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, "auto")))
    assert response.status_code == 201
    return str(response.json()["jobId"])


def test_any_executor_cancels_a_waiting_job_and_its_queue_row_goes(
    api: Api, sync_db: Database, queued_job: str
) -> None:
    before = sync_db.pluginJobs.find_one({"jobId": queued_job})
    assert before is not None
    response = api.as_user("carol").patch(f"/api/plugin-jobs/{queued_job}", json={"status": "cancelled"})
    assert response.status_code == 204, response.text
    job = sync_db.pluginJobs.find_one({"jobId": queued_job})
    assert job is not None
    assert job["status"] == "cancelled"
    assert job["updatedAt"] >= before["updatedAt"]
    assert sync_db.pluginJobQueue.count_documents({"jobId": queued_job}) == 0


def test_a_job_the_manager_took_cannot_be_cancelled(api: Api, sync_db: Database, queued_job: str) -> None:
    sync_db.pluginJobQueue.update_one({"jobId": queued_job}, {"$set": {"state": "processing"}})
    response = api.as_user("bob").patch(f"/api/plugin-jobs/{queued_job}", json={"status": "cancelled"})
    assert response.status_code == 422
    assert response.json() == {"error": "You cannot cancel this job because it is already being processed."}
    job = sync_db.pluginJobs.find_one({"jobId": queued_job})
    assert job is not None and job["status"] == "in_queue"
    assert sync_db.pluginJobQueue.count_documents({"jobId": queued_job}) == 1


def test_a_queued_job_without_a_queue_row_cannot_be_cancelled(api: Api) -> None:
    response = api.as_user("bob").patch(f"/api/plugin-jobs/{BOB_IN_QUEUE}", json={"status": "cancelled"})
    assert response.status_code == 422
    assert response.json() == {"error": "You cannot cancel this job because it is already being processed."}


def test_only_a_queued_job_can_be_cancelled(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").patch(f"/api/plugin-jobs/{BOB_FINISHED}", json={"status": "cancelled"})
    assert response.status_code == 422
    assert response.json() == {"error": 'You cannot cancel this job because its status is "finished".'}


def test_a_job_manager_invalidates_a_finished_job(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").patch(f"/api/plugin-jobs/{BOB_FINISHED}", json={"status": "invalidated"})
    assert (response.status_code, response.json()) == (401, INVALIDATE_REFUSED)
    response = api.as_user("carol").patch(f"/api/plugin-jobs/{BOB_FINISHED}", json={"status": "invalidated"})
    assert response.status_code == 204
    job = sync_db.pluginJobs.find_one({"jobId": BOB_FINISHED})
    assert job is not None
    assert job["status"] == "invalidated"
    assert job["results"] == {}  # results are kept
    response = api.as_user("carol").patch(f"/api/plugin-jobs/{BOB_FINISHED}", json={"status": "invalidated"})
    assert response.status_code == 422
    assert response.json() == {"error": 'You cannot invalidate this job because its status is "invalidated".'}


def test_only_a_finished_job_can_be_invalidated(api: Api) -> None:
    response = api.as_user("carol").patch(f"/api/plugin-jobs/{BOB_IN_QUEUE}", json={"status": "invalidated"})
    assert response.status_code == 422
    assert response.json() == {"error": 'You cannot invalidate this job because its status is "in_queue".'}


def test_changing_a_status_needs_execute_plugin_and_the_domains(api: Api, sync_db: Database) -> None:
    response = api.as_user("frank").patch(f"/api/plugin-jobs/{BOB_IN_QUEUE}", json={"status": "cancelled"})
    assert (response.status_code, response.json()) == (401, EXECUTE_REFUSED)
    # carol may execute EMPTY but holds no sirius.org
    response = api.as_user("carol").patch(f"/api/plugin-jobs/{FINISHED_SIRIUS}", json={"status": "invalidated"})
    assert (response.status_code, response.json()) == (401, DOMAIN_REFUSED)
    response = api.as_user("bob").patch("/api/plugin-jobs/01hzzzzzzzzzzzzzzzzzzzzzzz", json={"status": "cancelled"})
    assert response.status_code == 404
    # positive control: dave has sirius.org and manageJobs
    response = api.as_user("dave").patch(f"/api/plugin-jobs/{FINISHED_SIRIUS}", json={"status": "invalidated"})
    assert response.status_code == 204


@pytest.mark.parametrize("body", [{}, {"status": "finished"}, {"status": "cancelled", "force": True}])
def test_a_status_change_body_must_be_exactly_one_status(api: Api, body: dict[str, Any]) -> None:
    # Re-impl: CIRCUS's schema misspells `required`, so `{}` reached the handler (500)
    response = api.as_user("bob").patch(f"/api/plugin-jobs/{BOB_IN_QUEUE}", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."


# ---- GET /plugin-jobs/:jobId ------------------------------------------------------------------


def test_a_reader_gets_the_whole_job_with_results_and_feedback(api: Api) -> None:
    response = api.as_user("frank").get(f"/api/plugin-jobs/{FINISHED_SIRIUS}")
    assert response.status_code == 200
    job = response.json()
    assert set(job) == {
        "jobId", "pluginId", "userEmail", "status", "series", "errorMessage", "startedAt", "finishedAt",
        "feedbacks", "results", "createdAt", "updatedAt",
    }
    assert job["results"] == {}
    assert [entry["feedbackId"] for entry in job["feedbacks"]] == [
        "01grtpb4zhxmdcwcjpk4519nj3", "01grtppgk4kvgx8q5htj5530rp", "01grtppnyxbdherkv2krd2n72a"
    ]
    assert job["finishedAt"] == "2018-01-01T12:01:00.000Z"
    assert "patientInfo" not in job


def test_reading_a_job_needs_read_plugin_and_the_domains(api: Api) -> None:
    response = api.as_user("guest").get(f"/api/plugin-jobs/{BOB_FINISHED}")
    assert (response.status_code, response.json()) == (401, READ_REFUSED)
    response = api.as_user("alice").get(f"/api/plugin-jobs/{BOB_FINISHED}")  # vega.org: not alice's
    assert (response.status_code, response.json()) == (401, DOMAIN_REFUSED)
    assert api.as_user("alice").get(f"/api/plugin-jobs/{FINISHED_SIRIUS}").status_code == 200
    response = api.as_user("bob").get("/api/plugin-jobs/01hzzzzzzzzzzzzzzzzzzzzzzz")
    assert response.status_code == 404


# ---- GET /plugin-jobs (search) ----------------------------------------------------------------


def search(api: Api, user: str, url: str = "/api/plugin-jobs", **params: Any) -> dict[str, Any]:
    query = {k: json.dumps(v) if isinstance(v, dict) else v for k, v in params.items()}
    response = api.as_user(user).get(url, params=query)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def job_ids(body: dict[str, Any]) -> list[str]:
    return [item["jobId"] for item in body["items"]]


@pytest.fixture
def dated_jobs(api: Api, sync_db: Database) -> None:
    """Distinct creation dates (the fixtures share one): oldest FINISHED_SIRIUS ... newest BOB_IN_QUEUE."""
    for day, job_id in enumerate([FINISHED_SIRIUS, INVALIDATED, FAILED_SIRIUS, BOB_FINISHED, BOB_IN_QUEUE], 1):
        sync_db.pluginJobs.update_one({"jobId": job_id}, {"$set": {"createdAt": dt.datetime(2021, 1, day)}})


@pytest.mark.usefixtures("dated_jobs")
def test_search_returns_readable_jobs_in_the_callers_domains_newest_first(api: Api) -> None:
    body = search(api, "bob")
    assert (job_ids(body), body["totalItems"], body["page"]) == ([BOB_IN_QUEUE, BOB_FINISHED], 2, 1)
    assert job_ids(search(api, "alice")) == [FAILED_SIRIUS, FINISHED_SIRIUS]
    assert job_ids(search(api, "dave")) == [BOB_IN_QUEUE, BOB_FINISHED, FAILED_SIRIUS, FINISHED_SIRIUS]
    assert search(api, "guest") == {"items": [], "totalItems": 0, "page": 1}


@pytest.mark.usefixtures("dated_jobs")
def test_search_items_have_no_results_and_one_domain(api: Api) -> None:
    item = search(api, "alice", filter={"jobId": FINISHED_SIRIUS})["items"][0]
    assert set(item) == {
        "jobId", "pluginId", "userEmail", "status", "errorMessage", "series", "feedbacks", "startedAt",
        "finishedAt", "createdAt", "updatedAt", "domain",
    }
    assert item["domain"] == "sirius.org"
    assert item["series"][1]["seriesUid"] == "111.222.333.444.666"


@pytest.mark.usefixtures("dated_jobs")
@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"modality": "MR"}, [FINISHED_SIRIUS]),  # matches when any series of the job matches
        ({"modality": "CT"}, [BOB_IN_QUEUE, BOB_FINISHED, FINISHED_SIRIUS]),
        ({"seriesUid": "111.222.333.444.666"}, [FINISHED_SIRIUS]),
        ({"studyUid": {"$in": ["111.222.333.888.999.999"]}}, [FAILED_SIRIUS]),
        ({"seriesDate": {"$gte": {"$date": "2017-10-12T00:00:00Z"}}}, []),
        ({"seriesDate": {"$gte": {"$date": "2017-10-11T00:00:00Z"}}}, [BOB_IN_QUEUE, BOB_FINISHED]),
        ({"status": "finished", "pluginId": EMPTY}, [BOB_FINISHED, FINISHED_SIRIUS]),
        ({"$or": [{"jobId": FAILED_SIRIUS}, {"modality": "MR"}]}, [FAILED_SIRIUS, FINISHED_SIRIUS]),
        ({"finishedAt": {"$lt": {"$date": "2019-01-01T00:00:00Z"}}}, [FAILED_SIRIUS, FINISHED_SIRIUS]),
        ({"createdAt": {"$gte": {"$date": "2021-01-04T00:00:00Z"}}}, [BOB_IN_QUEUE, BOB_FINISHED]),
    ],
)
def test_search_filters_on_the_job_and_on_its_joined_series(
    api: Api, filter: dict[str, Any], expected: list[str]
) -> None:
    assert job_ids(search(api, "dave", filter=filter)) == expected


@pytest.mark.usefixtures("dated_jobs")
def test_patient_info_is_joined_for_view_personal_info_plugins_and_shown_per_preference(
    api: Api, sync_db: Database
) -> None:
    # dave: readPlugin + viewPersonalInfo on EMPTY, global personalInfoView, preference on
    body = search(api, "dave", filter={"patientInfo.patientName": "Koume"})
    assert job_ids(body) == [FINISHED_SIRIUS]
    assert body["items"][0]["patientInfo"] == {"patientId": "017", "patientName": "Koume", "age": 70}
    # empty patient information of the first series is still shown
    assert search(api, "dave", filter={"jobId": BOB_FINISHED})["items"][0]["patientInfo"] == {}
    # preference off: still joined (the filter matches), not shown
    sync_db.users.update_one({"userEmail": "dave@example.com"}, {"$set": {"preferences.personalInfoView": False}})
    body = search(api, "dave", filter={"patientInfo.patientName": "Koume"})
    assert job_ids(body) == [FINISHED_SIRIUS]
    assert "patientInfo" not in body["items"][0]


@pytest.mark.usefixtures("dated_jobs")
def test_patient_info_of_plugins_without_view_personal_info_is_never_joined(api: Api, sync_db: Database) -> None:
    # bob: global personalInfoView and preference on, but no viewPersonalInfo role on EMPTY
    sync_db.series.update_one({"seriesUid": VEGA_236}, {"$set": {"patientInfo": {"patientName": "Ume"}}})
    assert job_ids(search(api, "bob", filter={"patientInfo.patientName": "Ume"})) == []
    assert all("patientInfo" not in item for item in search(api, "bob")["items"])
    # positive control: carol holds viewPersonalInfo
    body = search(api, "carol", filter={"patientInfo.patientName": "Ume"})
    assert job_ids(body) == [BOB_IN_QUEUE, BOB_FINISHED]
    assert body["items"][0]["patientInfo"] == {"patientName": "Ume"}


def test_searching_by_patient_needs_the_global_privilege(api: Api) -> None:
    for filter in ({"patientInfo.patientId": "017"}, {"$and": [{"status": "finished"}, {"patientInfo.sex": "F"}]}):
        response = api.as_user("frank").get("/api/plugin-jobs", params={"filter": json.dumps(filter)})
        assert (response.status_code, response.json()) == (400, PATIENT_SEARCH_REFUSED)


@pytest.mark.usefixtures("dated_jobs")
def test_search_sorts_pages_and_caps_the_count(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    assert job_ids(search(api, "dave", sort={"createdAt": 1})) == [
        FINISHED_SIRIUS, FAILED_SIRIUS, BOB_FINISHED, BOB_IN_QUEUE
    ]
    assert job_ids(search(api, "dave", sort={"jobId": 1})) == sorted([
        FINISHED_SIRIUS, FAILED_SIRIUS, BOB_FINISHED, BOB_IN_QUEUE
    ])
    assert job_ids(search(api, "dave", sort={"status": 1, "createdAt": -1})) == [
        FAILED_SIRIUS, BOB_FINISHED, FINISHED_SIRIUS, BOB_IN_QUEUE
    ]
    page = search(api, "dave", limit="3", page="2")
    assert (job_ids(page), page["totalItems"], page["page"]) == ([FINISHED_SIRIUS], 4, 2)
    monkeypatch.setattr(plugin_job_service, "COUNT_CAP", 3)
    body = search(api, "dave")
    assert (len(body["items"]), body["totalItems"]) == (4, 3)


@pytest.mark.parametrize("sort", ["", "createdAt", "{}", "{bad"])
def test_an_empty_or_unparsable_sort_is_refused_with_the_job_message(api: Api, sort: str) -> None:
    response = api.as_user("dave").get("/api/plugin-jobs", params={"sort": sort})
    assert (response.status_code, response.json()) == (400, {"error": "Invalid sort parameter."})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"sort": '{"createdAt": 2}'}, "Bad sort parameter. Invalid key/value pair."),
        ({"sort": "[1]"}, "Bad sort parameter. Non-object passed."),
        ({"filter": '{"userEmail": "bob@example.com"}'}, "Bad filter."),
        ({"filter": '{"results": {}}'}, "Bad filter."),
        ({"filter": "{"}, "Invalid JSON was passed as a filter string"),
        ({"limit": "201"}, "You cannot query more than 200 items at a time."),
    ],
)
def test_other_bad_search_parameters_are_400(api: Api, params: dict[str, str], message: str) -> None:
    response = api.as_user("dave").get("/api/plugin-jobs", params=params)
    assert (response.status_code, response.json()) == (400, {"error": message})


# ---- GET /plugin-jobs/list/:myListId --------------------------------------------------------


@pytest.mark.usefixtures("dated_jobs")
def test_the_my_list_variant_searches_the_jobs_of_the_callers_list(api: Api, sync_db: Database) -> None:
    sync_db.myLists.update_one({"myListId": DAVE_JOBS}, {"$push": {"items": {"$each": [
        {"resourceId": BOB_FINISHED, "createdAt": dt.datetime(2021, 3, 1)},
        {"resourceId": INVALIDATED, "createdAt": dt.datetime(2021, 4, 1)},  # plug-in dave cannot read
        {"resourceId": "01hzzzzzzzzzzzzzzzzzzzzzzz", "createdAt": dt.datetime(2021, 5, 1)},  # gone
    ]}}})
    url = f"/api/plugin-jobs/list/{DAVE_JOBS}"
    body = search(api, "dave", url)
    # newest addition first; inaccessible and missing jobs disappear; no helper fields
    assert (job_ids(body), body["totalItems"]) == ([BOB_FINISHED, FINISHED_SIRIUS], 2)
    assert "addedToListAt" not in body["items"][0] and "results" not in body["items"][0]
    assert body["items"][1]["patientInfo"]["patientName"] == "Koume"
    assert job_ids(search(api, "dave", url, filter={"modality": "MR"})) == [FINISHED_SIRIUS]
    assert job_ids(search(api, "dave", url, sort={"createdAt": 1})) == [FINISHED_SIRIUS, BOB_FINISHED]


def test_the_my_list_variant_accepts_only_the_callers_own_job_lists(api: Api) -> None:
    response = api.as_user("bob").get(f"/api/plugin-jobs/list/{DAVE_JOBS}")
    assert (response.status_code, response.json()) == (404, {"error": "This my list does not exist"})
    response = api.as_user("bob").get(f"/api/plugin-jobs/list/{BOB_SERIES_LIST}")
    assert (response.status_code, response.json()) == (400, {"error": "This my list is not for plugin jobs"})
    response = api.as_user("dave").get(f"/api/plugin-jobs/list/{DAVE_JOBS}", params={"sort": ""})
    assert (response.status_code, response.json()) == (400, {"error": "Invalid sort parameter."})


# ---- GET /plugin-job-queue ------------------------------------------------------------------


def test_the_queue_of_a_user_holds_the_jobs_that_user_registered(api: Api, oriented_series: None) -> None:
    bob_jobs = [
        api.as_user("bob").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, n)), priority=n))
        .json()["jobId"] for n in (2, 3)
    ]
    carol_job = api.as_user("carol").post("/api/plugin-jobs", json=new_job((HEAD_FIRST_UID, pvd(1, 4)))).json()["jobId"]
    body = search(api, "bob", "/api/plugin-job-queue")
    # full job documents in queue order (higher priority first)
    assert [item["jobId"] for item in body["items"]] == [bob_jobs[1], bob_jobs[0]]
    assert body["totalItems"] == 2 and body["page"] == 1
    assert body["items"][0]["userEmail"] == "bob@example.com" and "results" in body["items"][0]
    assert [item["jobId"] for item in search(api, "carol", "/api/plugin-job-queue")["items"]] == [carol_job]
    assert search(api, "guest", "/api/plugin-job-queue") == {"items": [], "page": 1, "totalItems": 0}
    page = search(api, "bob", "/api/plugin-job-queue", limit="1", page="2")
    assert ([item["jobId"] for item in page["items"]], page["totalItems"]) == ([bob_jobs[0]], 2)
    assert search(api, "bob", "/api/plugin-job-queue", state="processing")["items"] == []
    assert len(search(api, "bob", "/api/plugin-job-queue", state="all")["items"]) == 2
