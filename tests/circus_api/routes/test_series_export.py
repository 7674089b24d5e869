"""`POST /series/export-cs-volume` (spec 4.5 #19, 5.5): checks before the task, then the task on a
real dramatiq worker over a real Redis, downloaded through `/api/tasks/:id/download`."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import numpy as np
import pytest
from pymongo.database import Database

from circus_api.imaging.dicom_files import write_image
from circus_api.settings import Settings
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.synthetic import SyntheticSeries, make_ct_series
from tests.circus_api.tasks_harness import flush_redis, running_worker, wait_until

URL = "/api/series/export-cs-volume"
SLICES, COLUMNS, ROWS = 6, 12, 10


@pytest.fixture
def app_settings(settings: Settings, redis_url: str) -> Settings:
    flush_redis(redis_url)
    return replace(settings, redis_url=redis_url)


@pytest.fixture
def worker(api: Api, app_settings: Settings) -> Iterator[None]:
    with running_worker(app_settings):
        yield


@pytest.fixture
def ct(api: Api, app_settings: Settings, sync_db: Database) -> SyntheticSeries:
    """A synthetic CT series of 6 slices in vega.org (one of bob's domains), files and document."""
    series = make_ct_series(SLICES, (COLUMNS, ROWS), series_uid="1.2.826.0.1.3680043.2.1125.77.1", signed=True)
    for number, data in series.files.items():
        write_image(app_settings.dicom_dir, series.series_uid, number, data)
    sync_db.series.insert_one({
        "seriesUid": series.series_uid, "studyUid": series.study_uid, "width": COLUMNS, "height": ROWS,
        "images": f"1-{SLICES}", "seriesDate": None, "modality": "CT", "seriesDescription": "synthetic",
        "bodyPart": "CHEST", "stationName": "", "modelName": "", "manufacturer": "circus-tests", "storageId": 0,
        "patientInfo": {}, "parameters": {}, "domain": "vega.org",
    })
    return series


def entry(series_uid: str, start: Any = 1, end: Any = SLICES, delta: Any = 1) -> dict[str, Any]:
    pvd = {"start": start, "end": end}
    if delta is not None:
        pvd["delta"] = delta
    return {"seriesUid": series_uid, "partialVolumeDescriptor": pvd}


def post(api: Api, user: str, body: Any) -> tuple[int, Any]:
    response = api.as_user(user).post(URL, json=body)
    return response.status_code, response.json() if response.content else None


def finished_task(api: Api, user: str, task_id: str) -> dict[str, Any]:
    client = api.as_user(user)
    wait_until(lambda: client.get(f"/api/tasks/{task_id}").json()["status"] != "processing", timeout=30)
    return dict(client.get(f"/api/tasks/{task_id}").json())


# ---- refusals before any task exists ---------------------------------------------------------


def test_exporting_needs_the_download_volume_privilege(api: Api, sync_db: Database) -> None:
    refused = (401, {"error": "You do not have sufficient privilege to access this resource. downloadVolume"})
    assert post(api, "alice", {"series": [entry("111.222.333.444.888")]}) == refused
    assert post(api, "guest", {"series": [entry("111.222.333.444.888")]}) == refused
    assert post(api, "alice", {"nonsense": True}) == refused  # privileges come before the body
    assert sync_db.tasks.count_documents({"name": "Export DICOM data"}) == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"series": []},
        {"series": [entry("111.222.333.444.888")] * 11},
        {"series": [{"seriesUid": "111.222.333.444.888", "partialVolumeDescriptor": "auto"}]},
        {"series": [{"seriesUid": "111.222.333.444.888"}]},
        {"series": [{**entry("111.222.333.444.888"), "extra": 1}]},
        {"series": [entry("111.222.333.444.888", start="1")]},
        {"series": [{"seriesUid": "111.222.333.444.888", "partialVolumeDescriptor": {"start": 1}}]},
        {"series": [{"seriesUid": "111.222.333.444.888",
                     "partialVolumeDescriptor": {"start": 1, "end": 2, "delta": 1, "x": 0}}]},
        {"series": [entry("not-a-uid")]},
        {"series": [entry("111.222.333.444.888")], "compressionFormat": "rar"},
        {"series": [entry("111.222.333.444.888")], "labelPackType": "isolated"},
    ],
)
def test_a_malformed_body_is_400(api: Api, body: Any) -> None:
    status, error = post(api, "bob", body)
    assert status == 400
    assert error["error"] == "Request data is not correct."
    assert error["validationErrors"]


def test_the_series_are_checked_before_the_task_is_created(api: Api, sync_db: Database) -> None:
    assert post(api, "bob", {"series": [entry("111.222.333.444.888"), entry("1.2.3.4")]}) == (
        400, {"error": "Nonexistent series."}
    )
    # sirius.org is not bob's: 403; dave, who has it, passes this check
    assert post(api, "bob", {"series": [entry("111.222.333.444.555")]}) == (
        403, {"error": "You do not have privilege to access this series."}
    )
    assert post(api, "bob", {"series": [entry("111.222.333.444.888", 1, 10, 0)]}) == (
        400, {"error": 'Invalid partial volume descriptor: {"start":1,"end":10,"delta":0}'}
    )
    assert post(api, "bob", {"series": [entry("111.222.333.444.888", 1, 10, None)]}) == (
        400, {"error": 'Invalid partial volume descriptor: {"start":1,"end":10}'}
    )
    assert post(api, "bob", {"series": [entry("111.222.333.444.888", 10.0, 1, 1)]}) == (
        400, {"error": 'Invalid partial volume descriptor: {"start":10,"end":1,"delta":1}'}
    )
    assert post(api, "bob", {"series": [entry("111.222.333.444.888", 140, 151, 1)]}) == (
        400, {"error": "Specified range is invalid."}
    )
    assert sync_db.tasks.count_documents({"name": "Export DICOM data"}) == 0


def test_a_valid_request_registers_the_task(api: Api, sync_db: Database) -> None:
    # the positive control of the checks above: same series, in range, by users who may
    status, body = post(api, "bob", {"series": [entry("111.222.333.444.888", 150, 1, -1)]})
    assert status == 201 and set(body) == {"taskId"}
    task = sync_db.tasks.find_one({"taskId": body["taskId"]})
    assert task is not None
    assert (task["name"], task["userEmail"], task["downloadFileType"]) == (
        "Export DICOM data", "bob@example.com", "application/x-tgz"
    )
    status, body = post(api, "dave", {"series": [entry("111.222.333.444.555", 1, 9.0, 2)], "compressionFormat": "zip"})
    assert status == 201
    task = sync_db.tasks.find_one({"taskId": body["taskId"]})
    assert task is not None and task["downloadFileType"] == "application/zip"


# ---- the task and its archive ----------------------------------------------------------------


def expected_header(index: int, slices: int, pitch: str) -> str:
    return (
        "ObjectType = Image\nNDims = 3\n"
        f"DimSize = {COLUMNS} {ROWS} {slices}\nElementType = MET_SHORT\n"
        f"ElementSpacing = 0.7 0.7 {pitch}\nElementByteOrderMSB = False\n"
        f"ElementDataFile = {index}.raw\n"
    )


def check_volumes(members: dict[str, bytes], ct: SyntheticSeries) -> None:
    # volume 0: all slices in order; volume 1: every second slice, bottom up
    assert members["0.mhd"].decode() == expected_header(0, SLICES, "1.25")
    assert members["1.mhd"].decode() == expected_header(1, 3, "2.5")
    volume0 = np.frombuffer(members["0.raw"], "<i2").reshape(SLICES, ROWS, COLUMNS)
    volume1 = np.frombuffer(members["1.raw"], "<i2").reshape(3, ROWS, COLUMNS)
    assert np.array_equal(volume0, ct.hu)
    assert np.array_equal(volume1, ct.hu[[5, 3, 1]])

    tags = json.loads(members["0.json"])
    assert set(tags) == {"common", "unique"}
    assert tags["common"]["0020,000e"] == ct.series_uid
    assert tags["common"]["0008,0060"] == "CT"
    assert len(tags["unique"]) == SLICES
    assert [u["0020,0013"] for u in tags["unique"]] == [1, 2, 3, 4, 5, 6]
    # personal tags and binary pixel data are not exported
    for key in ("0010,0010", "0010,0020", "0010,0030", "0008,0080", "7fe0,0010"):
        assert key not in tags["common"] and all(key not in u for u in tags["unique"])
    assert [u["0020,0013"] for u in json.loads(members["1.json"])["unique"]] == [6, 4, 2]


def test_a_tgz_export_is_downloaded_with_the_cs_volume_layout(
    api: Api, worker: None, ct: SyntheticSeries, app_settings: Settings
) -> None:
    body = {"series": [entry(ct.series_uid), entry(ct.series_uid, 6, 2, -2)]}
    status, created = post(api, "bob", body)
    assert status == 201
    task_id = created["taskId"]
    task = finished_task(api, "bob", task_id)
    assert task["status"] == "finished", task
    assert task["finishedMessage"] == "exported"
    assert task["name"] == "Export DICOM data"

    response = api.as_user("bob").get(f"/api/tasks/{task_id}/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/gzip"
    assert response.headers["content-disposition"] == 'attachment; filename="download.tar.gz"'
    with tarfile.open(fileobj=io.BytesIO(response.content), mode="r:gz") as archive:
        assert archive.getnames() == ["0.mhd", "0.raw", "0.json", "1.mhd", "1.raw", "1.json"]
        assert all(m.isfile() and m.mode == 0o644 for m in archive.getmembers())
        members = {m.name: archive.extractfile(m).read() for m in archive.getmembers()}  # type: ignore[union-attr]
    assert len(members["0.raw"]) == COLUMNS * ROWS * SLICES * 2
    check_volumes(members, ct)
    # the archive was renamed into place: no partial file or scratch folder is left behind
    assert sorted(p.name for p in app_settings.download_dir.iterdir()) == [task_id]


def test_a_zip_export(api: Api, worker: None, ct: SyntheticSeries) -> None:
    body = {"series": [entry(ct.series_uid), entry(ct.series_uid, 6, 2, -2)], "compressionFormat": "zip"}
    status, created = post(api, "bob", body)
    assert status == 201
    assert finished_task(api, "bob", created["taskId"])["status"] == "finished"
    response = api.as_user("bob").get(f"/api/tasks/{created['taskId']}/download")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == 'attachment; filename="download.zip"'
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        assert archive.namelist() == ["0.mhd", "0.raw", "0.json", "1.mhd", "1.raw", "1.json"]
        members = {name: archive.read(name) for name in archive.namelist()}
    check_volumes(members, ct)


def test_an_export_whose_files_are_missing_ends_with_an_error(
    api: Api, worker: None, app_settings: Settings
) -> None:
    # 111.222.333.444.888 passes every check but has no DICOM files in the repository
    status, created = post(api, "bob", {"series": [entry("111.222.333.444.888", 1, 3, 1)]})
    assert status == 201
    task = finished_task(api, "bob", created["taskId"])
    assert task["status"] == "error"
    assert task["errorMessage"].startswith("Volume #1 could not be exported: ")
    response = api.as_user("bob").get(f"/api/tasks/{created['taskId']}/download")
    assert response.status_code == 409
    assert list(app_settings.download_dir.iterdir()) == []
