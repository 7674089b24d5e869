"""DICOM uploads over HTTP (spec 4.5 endpoints 14-15): a real Redis, an in-process dramatiq
worker, CIRCUS's real DICOM files."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.services.series_import import BROKEN_FILE, NOT_DICOM_SINGLE
from circus_api.settings import Settings
from tests.circus_api.conftest import TOKENS, Api
from tests.circus_api.dicom_uploads import (
    FOOT_FIRST_UID,
    HEAD_FIRST_UID,
    files_under,
    fixture_bytes,
    tar_gz_bytes,
    truncated,
    zip_bomb,
    zip_bytes,
)
from tests.circus_api.imaging.synthetic import make_ct_series
from tests.circus_api.tasks_harness import flush_redis, running_worker, wait_until
from tests.circus_fixtures import load_fixtures

MAX_FILE_BYTES = 3_000_000
MAX_EXPANDED_BYTES = 5_000_000


@pytest.fixture
def app_settings(settings: Settings, redis_url: str) -> Settings:
    flush_redis(redis_url)
    return replace(settings, redis_url=redis_url, upload_file_size_max_bytes=MAX_FILE_BYTES,
                   upload_expanded_max_bytes=MAX_EXPANDED_BYTES)


@pytest.fixture
def worker(api: Api, app_settings: Settings) -> Iterator[None]:
    with running_worker(app_settings):
        yield


Files = list[tuple[str, bytes]]


def multipart(files: Files) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", (name, data, "application/octet-stream")) for name, data in files]


def upload(api: Api, user: str, domain: str, files: Files, single: bool = False, **kwargs: Any) -> httpx.Response:
    url = f"/api/series/domain/{domain}" + ("/single" if single else "")
    return api.as_user(user).post(url, files=multipart(files), **kwargs)


def wait_for_task(api: Api, user: str, task_id: str) -> dict[str, Any]:
    client = api.as_user(user)
    wait_until(lambda: client.get(f"/api/tasks/{task_id}").json()["status"] != "processing")
    return dict(client.get(f"/api/tasks/{task_id}").json())


def import_task(api: Api, user: str, domain: str, files: Files, **kwargs: Any) -> dict[str, Any]:
    response = upload(api, user, domain, files, **kwargs)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"taskId"}
    return wait_for_task(api, user, response.json()["taskId"])


def staging_is_empty(settings: Settings) -> bool:
    return not settings.upload_dir.exists() or not any(settings.upload_dir.iterdir())


def series_doc(sync_db: Database, uid: str) -> dict[str, Any]:
    doc = sync_db.series.find_one({"seriesUid": uid}, {"_id": 0})
    assert doc is not None
    return dict(doc)


def test_a_zip_of_ten_files_is_imported_by_a_task(api: Api, worker: None, sync_db: Database,
                                                  app_settings: Settings) -> None:
    archive = zip_bytes({f"series/{n:03d}.dcm": data for n, data in fixture_bytes("head-first").items()})
    task = import_task(api, "bob", "vega.org", [("head-first.zip", archive)])
    assert (task["status"], task["name"]) == ("finished", "Series import")
    assert task["finishedMessage"] == "Imported 10 entities from 1 files."
    doc = series_doc(sync_db, HEAD_FIRST_UID)
    assert (doc["images"], doc["domain"], doc["modality"], doc["seriesDescription"]) == \
        ("1-10", "vega.org", "MR", "head_first")
    assert (doc["width"], doc["height"], doc["storageId"]) == (320, 260, 0)
    assert doc["patientInfo"]["patientName"] == "TEST^MR1"
    wait_until(lambda: staging_is_empty(app_settings))


def test_separate_files_and_a_tar_gz_are_imported(api: Api, worker: None, sync_db: Database) -> None:
    files = [(f"head-first{n:03d}.dcm", data) for n, data in fixture_bytes("head-first").items()]
    task = import_task(api, "bob", "vega.org", files)
    assert task["finishedMessage"] == "Imported 10 entities from 10 files."
    assert series_doc(sync_db, HEAD_FIRST_UID)["images"] == "1-10"

    foot = tar_gz_bytes({f"{n}.dcm": data for n, data in fixture_bytes("foot-first").items()})
    task = import_task(api, "bob", "altair.org", [("foot.tar.gz", foot)])
    assert task["finishedMessage"] == "Imported 10 entities from 1 files."
    doc = series_doc(sync_db, FOOT_FIRST_UID)
    assert (doc["images"], doc["domain"], doc["seriesDescription"]) == ("1-10", "altair.org", "foot_first")


def test_out_of_order_files_in_two_uploads_make_one_range(api: Api, worker: None, sync_db: Database) -> None:
    files = fixture_bytes("head-first")
    first = [(f"{n}.dcm", files[n]) for n in (10, 7, 9, 6, 8)]
    assert import_task(api, "bob", "vega.org", first)["status"] == "finished"
    assert series_doc(sync_db, HEAD_FIRST_UID)["images"] == "6-10"
    second = zip_bytes({f"{n}.dcm": files[n] for n in (3, 1, 5, 2, 4)})
    assert import_task(api, "bob", "vega.org", [("rest.zip", second)])["status"] == "finished"
    assert series_doc(sync_db, HEAD_FIRST_UID)["images"] == "1-10"


def test_uploading_to_a_domain_that_is_not_the_callers_is_403(api: Api, worker: None, sync_db: Database) -> None:
    one = [("1.dcm", fixture_bytes("head-first", [1])[1])]
    for single in (False, True):
        for user in ("bob", "guest"):
            response = upload(api, user, "sirius.org", one, single=single)
            assert (response.status_code, response.json()) == (403, {"error": "You cannot upload to this domain."})
    assert sync_db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    # positive control: sirius.org is alice's domain
    assert import_task(api, "alice", "sirius.org", one)["status"] == "finished"
    assert series_doc(sync_db, HEAD_FIRST_UID)["domain"] == "sirius.org"


def test_the_single_file_route_imports_one_dicom_file(api: Api, sync_db: Database, app_settings: Settings) -> None:
    response = upload(api, "bob", "vega.org", [("4.dcm", fixture_bytes("head-first", [4])[4])], single=True)
    assert (response.status_code, response.content) == (201, b"")
    assert series_doc(sync_db, HEAD_FIRST_UID)["images"] == "4"
    assert staging_is_empty(app_settings)


def test_the_single_file_route_refuses_what_it_cannot_import(api: Api, sync_db: Database,
                                                             app_settings: Settings) -> None:
    files = fixture_bytes("head-first", [1, 2])
    cases = [
        ([("1.dcm", files[1]), ("2.dcm", files[2])], "Only one file is allowed."),
        ([("a.zip", zip_bytes({"1.dcm": files[1]}))], NOT_DICOM_SINGLE),
        ([("a.txt", b"hello")], NOT_DICOM_SINGLE),
        ([("cut.dcm", truncated(files[1]))], f"{BROKEN_FILE} (truncated DICOM file)"),
    ]
    for sent, message in cases:
        response = upload(api, "bob", "vega.org", sent, single=True)
        assert (response.status_code, response.json()) == (400, {"error": message}), sent
        assert staging_is_empty(app_settings)
    # a file in another form field is not an upload
    other_field = api.as_user("bob").post("/api/series/domain/vega.org/single",
                                          files=[("other", ("1.dcm", files[1], "application/dicom"))])
    assert (other_field.status_code, other_field.json()) == (400, {"error": "Only one file is allowed."})
    assert sync_db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    assert files_under(app_settings.dicom_dir) == []
    quarantined = api.as_user("alice").get("/api/admin/quarantine").json()
    assert sorted(item["originalName"] for item in quarantined["items"]) == ["a.txt", "a.zip", "cut.dcm"]


def test_a_file_over_the_size_limit_is_413_and_leaves_nothing(api: Api, sync_db: Database,
                                                            app_settings: Settings) -> None:
    tasks_before = sync_db.tasks.count_documents({})
    big = [("1.dcm", fixture_bytes("head-first", [1])[1]), ("big.zip", os.urandom(MAX_FILE_BYTES + 1))]
    for single in (False, True):
        response = upload(api, "bob", "vega.org", big, single=single)
        assert response.status_code == 413
        assert response.json() == {
            "error": f"The file 'big.zip' exceeds the upload size limit of {MAX_FILE_BYTES} bytes."
        }
        assert staging_is_empty(app_settings)
    assert sync_db.tasks.count_documents({}) == tasks_before
    assert sync_db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    assert files_under(app_settings.quarantine_dir) == []


def test_bad_files_are_rejected_while_the_valid_ones_are_imported(api: Api, worker: None, sync_db: Database,
                                                                 app_settings: Settings) -> None:
    files = fixture_bytes("head-first")
    archive = zip_bytes({
        **{f"ok/{n}.dcm": files[n] for n in range(1, 5)},
        "../../escape.dcm": files[5],
        "notes.txt": b"skipped, not quarantined",
    })
    sent = [
        ("mixed.zip", archive),
        ("6.dcm", files[6]),
        ("cut.dcm", truncated(files[7])),
        ("bomb.zip", zip_bomb(4 * MAX_EXPANDED_BYTES)),
        ("letter.txt", b"Dear admin"),
    ]
    task = import_task(api, "bob", "vega.org", sent)
    assert task["status"] == "error"
    message = task["errorMessage"]
    assert message.startswith("Imported 5 entities from 5 files. Skipped 1 non-DICOM entries. Rejected 4 entries")
    for part in ("mixed.zip/../../escape.dcm: path with '..'", "cut.dcm: truncated DICOM file",
                 f"bomb.zip/bomb.dcm: the upload expands beyond {MAX_EXPANDED_BYTES} bytes",
                 "letter.txt: not a DICOM file"):
        assert part in message
    assert series_doc(sync_db, HEAD_FIRST_UID)["images"] == "1-4,6"
    assert [p for p in files_under(app_settings.dicom_dir) if p.name.startswith(".")] == []
    wait_until(lambda: staging_is_empty(app_settings))

    listing = api.as_user("alice").get("/api/admin/quarantine")
    assert listing.status_code == 200
    body = listing.json()
    assert (body["totalItems"], body["page"]) == (4, 1)
    assert sorted(item["originalName"] for item in body["items"]) == ["bomb.zip", "cut.dcm", "letter.txt", "mixed.zip"]
    for item in body["items"]:
        assert set(item) == {"quarantineId", "uploader", "domain", "taskId", "originalName", "size", "reason",
                             "rejectedEntries", "time"}
        assert (item["uploader"], item["domain"], item["taskId"]) == ("bob@example.com", "vega.org", task["taskId"])
    mixed = next(item for item in body["items"] if item["originalName"] == "mixed.zip")
    assert mixed["size"] == len(archive)
    assert mixed["rejectedEntries"] == [{"name": "mixed.zip/../../escape.dcm", "reason": "path with '..'"}]
    paged = api.as_user("alice").get("/api/admin/quarantine", params={"limit": 3, "page": 2}).json()
    assert (len(paged["items"]), paged["totalItems"], paged["page"]) == (1, 4, 2)
    # admin only; positive control above
    refused = api.as_user("bob").get("/api/admin/quarantine")
    assert refused.status_code == 401
    assert api.as_user("alice").get("/api/admin/quarantine", params={"limit": 201}).status_code == 400


def test_anonymize_on_the_task_route_and_the_single_route(api: Api, worker: None, sync_db: Database) -> None:
    files = fixture_bytes("head-first")
    task = import_task(api, "bob", "vega.org", [(f"{n}.dcm", files[n]) for n in range(1, 10)],
                       params={"anonymize": "true"})
    assert task["status"] == "finished"
    assert sync_db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    (doc,) = sync_db.series.find({"studyUid": {"$ne": None}, "domain": "vega.org", "modality": "MR"})
    assert doc["images"] == "1-9"
    assert not {"patientId", "patientName", "birthDate"} & set(doc["patientInfo"])

    # the single route takes the option as a form field too; a separate request has its own UID map
    response = api.as_user("bob").post("/api/series/domain/vega.org/single", data={"anonymize": "true"},
                                       files=multipart([("10.dcm", files[10])]))
    assert response.status_code == 201
    assert sync_db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    assert sync_db.series.count_documents({"domain": "vega.org", "modality": "MR"}) == 2

    bad = upload(api, "bob", "vega.org", [("1.dcm", files[1])], params={"anonymize": "maybe"})
    assert (bad.status_code, bad.json()) == (400, {"error": "anonymize must be true or false."})


def test_status_answers_quickly_while_fifty_slices_are_imported(api: Api, worker: None, sync_db: Database) -> None:
    synthetic = make_ct_series(50, size=128)
    response = upload(api, "bob", "vega.org", [(f"{n}.dcm", data) for n, data in synthetic.files.items()])
    assert response.status_code == 201
    task_id = response.json()["taskId"]
    bob, anonymous = api.as_user("bob"), api.as_user(None)
    timings = []
    while bob.get(f"/api/tasks/{task_id}").json()["status"] == "processing":
        start = time.monotonic()
        assert anonymous.get("/api/status").status_code == 200
        timings.append(time.monotonic() - start)
    assert timings, "the import ended before status was asked"
    assert max(timings) < 1.0
    assert series_doc(sync_db, synthetic.series_uid)["images"] == "1-50"


def test_request_errors(api: Api) -> None:
    bob = api.as_user("bob")
    assert bob.post("/api/series/domain/vega.org", json={}).status_code == 415
    assert api.as_user(None).post("/api/series/domain/vega.org", files=multipart([("a", b"x")])).status_code == 401
    response = bob.post("/api/series/domain/vega.org", files=[("other", ("a.dcm", b"x", "application/dicom"))])
    assert (response.status_code, response.json()) == (400, {"error": "No file is uploaded."})
    garbled = bob.post("/api/series/domain/vega.org", content=b"--xyz\r\nnonsense",
                       headers={"Content-Type": "multipart/form-data; boundary=xyz"})
    assert garbled.status_code == 400


def test_without_task_workers_the_task_route_is_503(settings: Settings, sync_db: Database) -> None:
    load_fixtures(sync_db)
    with TestClient(create_app(settings)) as client:
        headers = {"Authorization": f"Bearer {TOKENS['bob']}"}
        files = multipart([("1.dcm", fixture_bytes("head-first", [1])[1])])
        response = client.post("/api/series/domain/vega.org", files=files, headers=headers)
        assert response.status_code == 503
        # the synchronous route needs no worker
        assert client.post("/api/series/domain/vega.org/single", files=files, headers=headers).status_code == 201


def test_staged_files_of_a_task_are_removed_when_it_ends(api: Api, worker: None, app_settings: Settings) -> None:
    task = import_task(api, "bob", "vega.org", [("x.txt", b"not DICOM")])
    assert task["status"] == "error"
    wait_until(lambda: staging_is_empty(app_settings))
    assert isinstance(app_settings.upload_dir, Path)
