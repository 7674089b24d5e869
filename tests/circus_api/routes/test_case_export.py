"""`POST /api/cases/export-mhd` (spec 4.6 #25, 5.4) end to end: a real worker writes the archive,
which is downloaded through `/api/tasks/:id/download` and checked entry by entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import tarfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis
import SimpleITK as sitk
from pymongo.database import Database

from circus_api.imaging.labels import pack_label
from circus_api.settings import Settings
from circus_api.tasks import events
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.synthetic import SyntheticSeries, make_ct_series
from tests.circus_api.tasks_harness import flush_redis, running_worker, wait_until

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"  # bob and carol read it; frank reads it without downloadVolume
OTHER_PROJECT = "01otherproject000000000000"
CASE = "01exportcase00000000000000"
SECOND_CASE = "01exportcase00000000000001"
OTHER_CASE = "01exportcaseofotherproject"
HEAD_UID = "1.2.826.0.1.3680043.8.498.1001"
FOOT_UID = "1.2.826.0.1.3680043.8.498.1002"
CREATED = dt.datetime(2024, 1, 2, 3, 4, 5, 678000)
UPDATED = dt.datetime(2024, 2, 3, 4, 5, 6, 789000)
FAILURE_MESSAGE = "An internal error occurred while processing the case data."

# label 0: a patterned 4x3x2 box at (2, 3, 1); label 3: a full 3x3x3 box at (4, 4, 2) overlapping it
MASK0 = (np.arange(2 * 3 * 4).reshape(2, 3, 4) % 3 != 0)
MASK3 = np.ones((3, 3, 3), dtype=bool)
BLOB0, BLOB3 = pack_label(MASK0), pack_label(MASK3)
HASH0, HASH3 = (hashlib.sha1(b).hexdigest() for b in (BLOB0, BLOB3))


@pytest.fixture
def app_settings(settings: Settings, redis_url: str) -> Settings:
    flush_redis(redis_url)
    return replace(settings, redis_url=redis_url)


@pytest.fixture
def series(app_settings: Settings, sync_db: Database) -> dict[str, SyntheticSeries]:
    """Two 16x12 CT series of 6 images in the repository (head-first and foot-first)."""
    made = {
        HEAD_UID: make_ct_series(6, (16, 12), series_uid=HEAD_UID),
        FOOT_UID: make_ct_series(6, (16, 12), head_first=False, series_uid=FOOT_UID, z0=-100.0),
    }
    for uid, synthetic in made.items():
        folder = app_settings.dicom_dir / uid
        folder.mkdir(parents=True)
        for number, data in synthetic.files.items():
            (folder / f"{number:08d}.dcm").write_bytes(data)
        sync_db.series.insert_one({"seriesUid": uid, "images": "1-6", "domain": "vega.org", "modality": "CT",
                                   "createdAt": CREATED, "updatedAt": CREATED})
    return made


def revision(labels: list[dict[str, Any]], with_second_series: bool, description: str) -> dict[str, Any]:
    entries = [{"seriesUid": HEAD_UID, "partialVolumeDescriptor": {"start": 5, "end": 2, "delta": -1},
                "labels": labels}]
    if with_second_series:
        entries.append({"seriesUid": FOOT_UID, "partialVolumeDescriptor": {"start": 1, "end": 6, "delta": 1},
                        "labels": []})
    return {"creator": "bob@example.com", "date": UPDATED, "description": description, "attributes": {"a": 1},
            "status": "approved", "series": entries}


LABELS = [
    {"type": "voxel", "name": "nodule", "data": {"voxels": HASH0, "origin": [2, 3, 1], "size": [4, 3, 2],
                                                 "color": "#ff0000", "alpha": 1}},
    {"type": "rectangle", "data": {"min": [0, 0], "max": [1, 1], "z": 0}},
    {"type": "voxel", "data": {"voxels": None}},  # an empty voxel label: no isolated file
    {"type": "voxel", "data": {"voxels": HASH3, "origin": [4, 4, 2], "size": [3, 3, 3]}},
]


def insert_case(sync_db: Database, case_id: str, project_id: str, revisions: list[dict[str, Any]]) -> None:
    sync_db.clinicalCases.insert_one({
        "caseId": case_id, "projectId": project_id, "tags": [], "domains": ["vega.org"],
        "revisions": revisions, "latestRevision": revisions[-1], "createdAt": CREATED, "updatedAt": UPDATED,
    })


@pytest.fixture
def cases(api: Api, series: dict[str, SyntheticSeries], sync_db: Database) -> None:
    for blob, blob_hash in ((BLOB0, HASH0), (BLOB3, HASH3)):
        response = api.as_user("bob").put(f"/api/blob/{blob_hash}", content=blob,
                                          headers={"Content-Type": "application/octet-stream"})
        assert response.status_code == 201, response.text
    insert_case(sync_db, CASE, LUNG, [revision([], False, "first"), revision(LABELS, True, "labelled")])
    insert_case(sync_db, SECOND_CASE, LUNG, [revision(LABELS[:1], False, "only")])
    sync_db.projects.insert_one({"projectId": OTHER_PROJECT, "projectName": "Other", "createdAt": CREATED,
                                 "updatedAt": CREATED})
    insert_case(sync_db, OTHER_CASE, OTHER_PROJECT, [revision([], False, "other")])


@pytest.fixture
def worker(api: Api, app_settings: Settings, cases: None) -> Iterator[None]:
    with running_worker(app_settings):
        yield


def export(api: Api, body: dict[str, Any], user: str = "bob") -> str:
    response = api.as_user(user).post("/api/cases/export-mhd", json=body)
    assert response.status_code == 201, response.text
    assert set(response.json()) == {"taskId"}
    return str(response.json()["taskId"])


def wait_for_end(api: Api, task_id: str, user: str = "bob") -> dict[str, Any]:
    client = api.as_user(user)
    wait_until(lambda: client.get(f"/api/tasks/{task_id}").json()["status"] != "processing", timeout=30)
    return dict(client.get(f"/api/tasks/{task_id}").json())


def download(api: Api, task_id: str, user: str = "bob") -> tuple[dict[str, bytes], Any]:
    """The archive's entries (name -> bytes, in archive order) and the response."""
    response = api.as_user(user).get(f"/api/tasks/{task_id}/download")
    assert response.status_code == 200, response.text
    data = response.content
    if data[:2] == b"\x1f\x8b":
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            members = {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]
    else:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            members = {name: archive.read(name) for name in archive.namelist()}
    return members, response


def header(dim_size: str, element_type: str, offset: str, matrix: str, orientation: str, data_file: str,
           eol: str = "\n") -> bytes:
    lines = ["ObjectType = Image", "NDims = 3", f"DimSize = {dim_size}", f"ElementType = {element_type}",
             "ElementSpacing = 0.7 0.7 1.25", "ElementByteOrderMSB = False", f"Offset = {offset}",
             f"TransformMatrix = {matrix}", f"AnatomicalOrientation = {orientation}", f"ElementDataFile = {data_file}"]
    return "".join(line + eol for line in lines).encode("ascii")


# the whole head-first series: image 1 on top, so the slices run feet-wards (z column -1)
HEAD_OFFSET, HEAD_MATRIX = "-5.25 -3.85 -293.75", "1 0 0 0 1 0 0 0 -1"


def expected_isolated(mask: np.ndarray, origin: tuple[int, int, int], depth: int = 6) -> np.ndarray:
    volume = np.zeros((depth, 12, 16), dtype=np.uint8)
    x, y, z = origin
    sz, sy, sx = mask.shape
    volume[z:z + sz, y:y + sy, x:x + sx] = mask
    return volume


def test_tgz_isolated_lf_holds_every_entry_of_spec_5_4(
    api: Api, worker: None, series: dict[str, SyntheticSeries], app_settings: Settings
) -> None:
    task_id = export(api, {"caseIds": [CASE]})
    task = wait_for_end(api, task_id)
    assert (task["status"], task["finishedMessage"]) == ("finished", "Exported 1 case(s).")
    assert task["name"] == "Export a case as MHD"
    assert task["downloadFileType"] == "application/x-tgz"
    members, response = download(api, task_id)
    assert response.headers["content-type"] == "application/gzip"
    assert 'filename="download.tar.gz"' in response.headers["content-disposition"]
    assert list(members) == [
        f"{CASE}/data.json",
        f"{CASE}/vol000.mhd", f"{CASE}/vol000.raw",
        f"{CASE}/vol000-label000.mhd", f"{CASE}/vol000-label000.raw",
        f"{CASE}/vol000-label003.mhd", f"{CASE}/vol000-label003.raw",
        f"{CASE}/vol001.mhd", f"{CASE}/vol001.raw",
    ]
    # data.json: the case with the last revision, dates as ISO strings, two-space indentation
    data_json = members[f"{CASE}/data.json"].decode()
    assert data_json.startswith(f'{{\n  "caseId": "{CASE}",\n  "createdAt": "2024-01-02T03:04:05.678Z",\n')
    data = json.loads(data_json)
    assert list(data) == ["caseId", "createdAt", "updatedAt", "projectId", "revision"]
    assert data["updatedAt"] == "2024-02-03T04:05:06.789Z" and data["projectId"] == LUNG
    assert data["revision"]["description"] == "labelled"
    assert data["revision"]["date"] == "2024-02-03T04:05:06.789Z"
    assert data["revision"]["series"][0]["labels"] == LABELS

    assert members[f"{CASE}/vol000.mhd"] == header("16 12 6", "MET_SHORT", HEAD_OFFSET, HEAD_MATRIX, "RAS",
                                                    "vol000.raw")
    assert members[f"{CASE}/vol000-label003.mhd"] == header("16 12 6", "MET_UCHAR", HEAD_OFFSET, HEAD_MATRIX, "RAS",
                                                             "vol000-label003.raw")
    # the foot-first series runs head-wards: identity direction
    assert members[f"{CASE}/vol001.mhd"] == header("16 12 6", "MET_SHORT", "-5.25 -3.85 -100", "1 0 0 0 1 0 0 0 1",
                                                    "RAI", "vol001.raw")
    # whole series (the PVD 5..2 is ignored by default), int16 HU, little-endian
    volume = np.frombuffer(members[f"{CASE}/vol000.raw"], dtype="<i2").reshape(6, 12, 16)
    assert np.array_equal(volume, series[HEAD_UID].hu)
    assert volume[0, 0, 0] == -1000 and len(members[f"{CASE}/vol001.raw"]) == 16 * 12 * 6 * 2
    label0 = np.frombuffer(members[f"{CASE}/vol000-label000.raw"], dtype=np.uint8).reshape(6, 12, 16)
    assert np.array_equal(label0, expected_isolated(MASK0, (2, 3, 1)))
    label3 = np.frombuffer(members[f"{CASE}/vol000-label003.raw"], dtype=np.uint8).reshape(6, 12, 16)
    assert np.array_equal(label3, expected_isolated(MASK3, (4, 4, 2)))
    assert not list(app_settings.download_dir.glob(".*"))  # no temporary file left behind


def test_zip_combined_crlf_holds_one_label_volume_per_series_with_the_later_label_winning(
    api: Api, worker: None
) -> None:
    task_id = export(api, {"caseIds": [CASE], "labelPackType": "combined", "mhdLineEnding": "crlf",
                           "compressionFormat": "zip"})
    task = wait_for_end(api, task_id)
    assert (task["status"], task["downloadFileType"]) == ("finished", "application/zip")
    members, response = download(api, task_id)
    assert response.headers["content-type"] == "application/zip"
    assert 'filename="download.zip"' in response.headers["content-disposition"]
    # vol001 has no voxel label: no combined file for it
    assert list(members) == [f"{CASE}/data.json", f"{CASE}/vol000.mhd", f"{CASE}/vol000.raw",
                             f"{CASE}/vol000-label.mhd", f"{CASE}/vol000-label.raw", f"{CASE}/vol001.mhd",
                             f"{CASE}/vol001.raw"]
    assert members[f"{CASE}/vol000-label.mhd"] == header("16 12 6", "MET_UCHAR", HEAD_OFFSET, HEAD_MATRIX, "RAS",
                                                          "vol000-label.raw", eol="\r\n")
    assert members[f"{CASE}/vol000.mhd"].endswith(b"ElementDataFile = vol000.raw\r\n")
    assert members[f"{CASE}/vol000.mhd"].count(b"\n") == members[f"{CASE}/vol000.mhd"].count(b"\r\n") == 10
    combined = np.frombuffer(members[f"{CASE}/vol000-label.raw"], dtype=np.uint8).reshape(6, 12, 16)
    expected = expected_isolated(MASK0, (2, 3, 1)) * 1
    expected[expected_isolated(MASK3, (4, 4, 2)) == 1] = 4  # j + 1, j counting every label; later wins
    assert np.array_equal(combined, expected)
    assert set(np.unique(combined)) == {0, 1, 4}
    assert combined[2, 4, 4] == 4  # inside both boxes


def test_a_revision_index_and_several_cases(api: Api, worker: None) -> None:
    task_id = export(api, {"caseIds": [{"caseId": CASE, "revisionIndex": 0}, SECOND_CASE]})
    task = wait_for_end(api, task_id)
    assert task["name"] == "Export 2 cases as MHD"
    assert task["finishedMessage"] == "Exported 2 case(s)."
    members, _ = download(api, task_id)
    assert list(members) == [
        f"{CASE}/data.json", f"{CASE}/vol000.mhd", f"{CASE}/vol000.raw",
        f"{SECOND_CASE}/data.json", f"{SECOND_CASE}/vol000.mhd", f"{SECOND_CASE}/vol000.raw",
        f"{SECOND_CASE}/vol000-label000.mhd", f"{SECOND_CASE}/vol000-label000.raw",
    ]
    assert json.loads(members[f"{CASE}/data.json"])["revision"]["description"] == "first"


def test_progress_goes_over_the_task_event_stream(api: Api, worker: None, redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(events.CHANNEL)
    try:
        task_id = export(api, {"caseIds": [CASE, SECOND_CASE]})
        wait_for_end(api, task_id)
        received = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and (not received or received[-1][0] == "progress"):
            message = pubsub.get_message(timeout=0.2)  # None for a subscription notice too
            if message is not None and json.loads(message["data"])["data"]["taskId"] == task_id:
                event = json.loads(message["data"])
                received.append((event["event"], event["data"]))
    finally:
        pubsub.close()
        client.close()
    assert received[0] == ("progress", {"taskId": task_id, "message": "Starting the task."})
    packing = {"taskId": task_id, "message": f"Packing data for {CASE}", "finished": 0, "total": 2}
    assert ("progress", packing) in received
    assert received[-1] == ("finish", {"taskId": task_id, "message": "Exported 2 case(s)."})


def test_a_case_asked_for_twice_is_exported_once_with_the_last_revision_asked(api: Api, worker: None) -> None:
    task_id = export(api, {"caseIds": [CASE, {"caseId": CASE, "revisionIndex": 0}]})
    task = wait_for_end(api, task_id)
    assert (task["name"], task["finishedMessage"]) == ("Export 2 cases as MHD", "Exported 1 case(s).")
    members, _ = download(api, task_id)
    assert list(members) == [f"{CASE}/data.json", f"{CASE}/vol000.mhd", f"{CASE}/vol000.raw"]


def test_the_partial_volume_option_exports_the_pvd_images_in_pvd_order(
    api: Api, worker: None, series: dict[str, SyntheticSeries]
) -> None:
    task_id = export(api, {"caseIds": [CASE], "partialVolume": True, "labelPackType": "combined"})
    assert wait_for_end(api, task_id)["status"] == "finished"
    members, _ = download(api, task_id)
    # images 5, 4, 3, 2: z rises, so the direction is the identity and the offset is image 5's
    assert members[f"{CASE}/vol000.mhd"] == header("16 12 4", "MET_SHORT", "-5.25 -3.85 -298.75",
                                                    "1 0 0 0 1 0 0 0 1", "RAI", "vol000.raw")
    volume = np.frombuffer(members[f"{CASE}/vol000.raw"], dtype="<i2").reshape(4, 12, 16)
    assert np.array_equal(volume, series[HEAD_UID].hu[[4, 3, 2, 1]])
    # labels sit at their origin in that volume (the one the viewer showed), clipped to its 4 slices
    combined = np.frombuffer(members[f"{CASE}/vol000-label.raw"], dtype=np.uint8).reshape(4, 12, 16)
    expected = expected_isolated(MASK0, (2, 3, 1), depth=6) * 1
    expected[expected_isolated(MASK3, (4, 4, 2), depth=6) == 1] = 4
    assert np.array_equal(combined, expected[:4])
    assert members[f"{CASE}/vol001.mhd"].startswith(b"ObjectType = Image\nNDims = 3\nDimSize = 16 12 6\n")


def test_the_exported_volume_lands_where_simpleitk_puts_the_dicom_series(
    api: Api, worker: None, app_settings: Settings, tmp_path: Path
) -> None:
    members, _ = download(api, wait_for_end(api, export(api, {"caseIds": [CASE]}))["taskId"])
    for name in ("vol000.mhd", "vol000.raw", "vol001.mhd", "vol001.raw"):
        (tmp_path / name).write_bytes(members[f"{CASE}/{name}"])
    for index, uid in enumerate((HEAD_UID, FOOT_UID)):
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(app_settings.dicom_dir / uid)))
        reader.SetOutputPixelType(sitk.sitkInt16)
        reference = reader.Execute()
        exported = sitk.ReadImage(str(tmp_path / f"vol{index:03d}.mhd"))
        assert exported.GetSize() == reference.GetSize()
        # SimpleITK orders the slices its own way: compare in patient space (a voxel that does not
        # land on the reference's grid would read -2000), not index by index
        resampled = sitk.Resample(exported, reference, sitk.Transform(), sitk.sitkNearestNeighbor, -2000)
        assert np.array_equal(sitk.GetArrayFromImage(resampled), sitk.GetArrayFromImage(reference))
        assert exported.GetSpacing() == pytest.approx(reference.GetSpacing())


def test_a_revision_index_out_of_range_fails_the_task_and_leaves_no_file(
    api: Api, worker: None, app_settings: Settings
) -> None:
    task_id = export(api, {"caseIds": [SECOND_CASE, {"caseId": CASE, "revisionIndex": 2}]})
    task = wait_for_end(api, task_id)
    assert (task["status"], task["errorMessage"]) == ("error", FAILURE_MESSAGE)
    assert list(app_settings.download_dir.iterdir()) == []  # neither the download nor a partial archive


def test_missing_voxel_data_fails_the_task_and_leaves_no_file(
    api: Api, worker: None, app_settings: Settings, sync_db: Database
) -> None:
    labels = [{"type": "voxel", "data": {"voxels": "f" * 40, "origin": [0, 0, 0], "size": [1, 1, 1]}}]
    insert_case(sync_db, "01exportcasemissingblob000", LUNG, [revision(labels, False, "broken")])
    task = wait_for_end(api, export(api, {"caseIds": ["01exportcasemissingblob000"], "compressionFormat": "zip"}))
    assert (task["status"], task["errorMessage"]) == ("error", FAILURE_MESSAGE)
    assert list(app_settings.download_dir.iterdir()) == []


def test_unknown_cases_are_a_400(api: Api, cases: None, sync_db: Database) -> None:
    response = api.as_user("bob").post("/api/cases/export-mhd", json={"caseIds": [CASE, "no-such-case"]})
    assert response.status_code == 400
    assert response.json() == {"error": "Some cases do not exist."}
    assert sync_db.tasks.count_documents({"name": {"$regex": "MHD"}}) == 0  # no task was registered


def test_cases_of_a_project_the_caller_cannot_read_are_a_401(api: Api, cases: None, sync_db: Database) -> None:
    body = {"caseIds": [CASE, OTHER_CASE]}
    response = api.as_user("bob").post("/api/cases/export-mhd", json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have enough read privilege for some cases."}
    # positive control: carol's group reads both projects
    sync_db.groups.update_one({"groupId": 4}, {"$push": {"readProjects": OTHER_PROJECT}})
    response = api.as_user("carol").post("/api/cases/export-mhd", json=body)
    assert response.status_code == 201, response.text
    # existence is checked first
    response = api.as_user("bob").post("/api/cases/export-mhd", json={"caseIds": [OTHER_CASE, "no-such-case"]})
    assert response.json() == {"error": "Some cases do not exist."}


def test_the_download_volume_privilege_is_required(api: Api, cases: None) -> None:
    # frank reads the project but lacks downloadVolume; the global check comes before the body's
    for user, body in (("frank", {"caseIds": [CASE]}), ("guest", {"caseIds": []})):
        response = api.as_user(user).post("/api/cases/export-mhd", json=body)
        assert response.status_code == 401
        assert response.json() == {
            "error": "You do not have sufficient privilege to access this resource. downloadVolume"
        }
    assert api.as_user("bob").post("/api/cases/export-mhd", json={"caseIds": [CASE]}).status_code == 201


@pytest.mark.parametrize(
    ("body", "data_path"),
    [
        ({}, ""),
        ({"caseIds": []}, ".caseIds"),
        ({"caseIds": [f"case{n}" for n in range(101)]}, ".caseIds"),
        ({"caseIds": [{"caseId": CASE, "revisionIndex": -1}]}, ".caseIds[0]"),
        ({"caseIds": [{"revisionIndex": 0}]}, ".caseIds[0]"),
        ({"caseIds": [CASE], "labelPackType": "merged"}, ".labelPackType"),
        ({"caseIds": [CASE], "mhdLineEnding": "cr"}, ".mhdLineEnding"),
        ({"caseIds": [CASE], "compressionFormat": "rar"}, ".compressionFormat"),
        ({"caseIds": [CASE], "partialVolume": "yes"}, ".partialVolume"),
        ({"caseIds": [CASE], "extra": 1}, ""),
    ],
)
def test_invalid_bodies_are_a_400(api: Api, body: dict[str, Any], data_path: str) -> None:
    response = api.as_user("bob").post("/api/cases/export-mhd", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert [e["dataPath"] for e in response.json()["validationErrors"]] == [data_path]
