"""Cases (spec 4.6 #22-24, #26-28): creation, reading, revisions and labels, tags, deletion.

Fixture users on project "Lung nodules": bob and carol write and moderate (domains vega.org,
altair.org); frank reads and writes (every domain) but does not moderate; guest and alice hold
no role on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from pymongo.database import Database

from circus_api.imaging.dicom_import import parse_dicom
from circus_api.settings import Settings
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.fixture_files import FOOT_FIRST_UID, HEAD_FIRST_UID, fixture_files, import_files

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
VEGA_236 = "111.222.333.444.777"  # vega.org, images 1-236
VEGA_150 = "111.222.333.444.888"  # vega.org, images 1-150
ALTAIR = "222.222.333.444.777"  # altair.org, images 1-236
SIRIUS = "111.222.333.444.555"  # sirius.org, images 1-150
UNKNOWN_UID = "9.8.7.6.5"
CASE = "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"  # in no my list
LISTED_CASE = "gfdrjivu4w8p57nv95p7n485n3p891ygy6543wedfuyt67oiulkjhtrw312wergr"  # in three my lists
OCTET = {"Content-Type": "application/octet-stream"}


def pvd(start: int, end: int, delta: int = 1) -> dict[str, int]:
    return {"start": start, "end": end, "delta": delta}


def new_case(*series: tuple[str, Any], project: str = LUNG, tags: list[str] | None = None) -> dict[str, Any]:
    return {
        "projectId": project,
        "series": [{"seriesUid": uid, "partialVolumeDescriptor": descriptor} for uid, descriptor in series],
        "tags": tags or [],
    }


def revision(labels: list[dict[str, Any]], uid: str = VEGA_236, **extra: Any) -> dict[str, Any]:
    return {
        "description": "Labelled",
        "attributes": {"grade": 2},
        "status": "approved",
        "series": [{"seriesUid": uid, "partialVolumeDescriptor": pvd(1, 236), "labels": labels}],
        **extra,
    }


def stored_case(sync_db: Database, case_id: str) -> dict[str, Any]:
    case = sync_db.clinicalCases.find_one({"caseId": case_id}, {"_id": 0})
    assert case is not None
    return case


def assert_recent(when: dt.datetime) -> None:
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    assert now - dt.timedelta(minutes=1) < when <= now + dt.timedelta(seconds=1)


def validation_paths(response: Any) -> list[str]:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "Request data is not correct."
    return [error["dataPath"] for error in body["validationErrors"]]


# ---- POST /cases -------------------------------------------------------------------------------


def test_a_writer_creates_a_case_with_the_exact_first_revision(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").post(
        "/api/cases/", json=new_case((VEGA_236, pvd(1, 236)), (VEGA_150, pvd(150, 1, -1)), tags=["happy", "x"])
    )
    assert response.status_code == 201
    case_id = response.json()["caseId"]
    assert response.json() == {"caseId": case_id}
    assert re.fullmatch(r"[0-9a-z]{26}", case_id)

    case = stored_case(sync_db, case_id)
    first = case["revisions"][0]
    assert_recent(first["date"])
    assert first == {
        "creator": "bob@example.com",
        "date": first["date"],
        "description": "Created new case.",
        "attributes": {},
        "status": "draft",
        "series": [
            {"seriesUid": VEGA_236, "partialVolumeDescriptor": pvd(1, 236), "labels": []},
            {"seriesUid": VEGA_150, "partialVolumeDescriptor": pvd(150, 1, -1), "labels": []},
        ],
    }
    assert case == {
        "caseId": case_id,
        "projectId": LUNG,
        "tags": ["happy", "x"],
        "latestRevision": first,
        "revisions": [first],
        "domains": ["vega.org"],
        "createdAt": first["date"],
        "updatedAt": first["date"],
    }
    # the pseudo-locks leave nothing behind on the series
    assert sync_db.series.count_documents({"myLock": {"$exists": True}}) == 0


def test_integral_floats_in_a_descriptor_are_stored_as_integers(api: Api, sync_db: Database) -> None:
    body = new_case((VEGA_236, {"start": 1.0, "end": 10.0, "delta": 1.0}))
    response = api.as_user("bob").post("/api/cases", json=body)
    assert response.status_code == 201
    series = stored_case(sync_db, response.json()["caseId"])["revisions"][0]["series"][0]
    assert series["partialVolumeDescriptor"] == pvd(1, 10)
    assert all(type(v) is int for v in series["partialVolumeDescriptor"].values())


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"series": [{"seriesUid": VEGA_236, "partialVolumeDescriptor": pvd(1, 2)}], "tags": []}, ""),
        ({"projectId": LUNG, "tags": []}, ""),
        ({"projectId": LUNG, "series": [{"seriesUid": VEGA_236, "partialVolumeDescriptor": pvd(1, 2)}]}, ""),
        ({"projectId": LUNG, "series": [], "tags": []}, ".series"),
        ({**new_case((VEGA_236, pvd(1, 2))), "extra": 1}, ""),
        (new_case((VEGA_236, "automatic")), ".series[0].partialVolumeDescriptor"),
        (new_case((VEGA_236, {"start": 1})), ".series[0].partialVolumeDescriptor"),
        ({"projectId": LUNG, "series": [{"seriesUid": VEGA_236}], "tags": []}, ".series[0]"),
        (new_case(("not-a-uid", pvd(1, 2))), ".series[0].seriesUid"),
        ({**new_case((VEGA_236, pvd(1, 2))), "tags": [3]}, ".tags[0]"),
    ],
)
def test_a_malformed_creation_request_is_400(api: Api, body: dict[str, Any], path: str) -> None:
    assert path in validation_paths(api.as_user("bob").post("/api/cases", json=body))


def test_an_unknown_project_is_404_before_anything_else(api: Api) -> None:
    body = new_case((UNKNOWN_UID, "auto"), project="01hzzzzzzzzzzzzzzzzzzzzzzz")
    response = api.as_user("guest").post("/api/cases", json=body)
    assert response.status_code == 404
    assert response.json() == {"error": "This project does not exist."}


def test_an_auto_descriptor_of_an_unknown_series_is_404(api: Api) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((UNKNOWN_UID, "auto")))
    assert response.status_code == 404
    assert response.json() == {"error": "This series does not exist."}


@pytest.mark.parametrize("user", ["guest", "alice"])
def test_creating_a_case_needs_the_write_role_on_the_project(api: Api, user: str) -> None:
    body = new_case((VEGA_236, pvd(1, 236)))
    response = api.as_user(user).post("/api/cases", json=body)
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have write privilege for this project."}
    assert api.as_user("bob").post("/api/cases", json=body).status_code == 201


def test_the_write_role_is_checked_before_the_series(api: Api) -> None:
    response = api.as_user("guest").post("/api/cases", json=new_case((UNKNOWN_UID, pvd(1, 2))))
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have write privilege for this project."}


@pytest.mark.parametrize(
    ("descriptor", "shown"),
    [
        ({"start": 1, "end": 10}, '{"start":1,"end":10}'),
        (pvd(0, 10), '{"start":0,"end":10,"delta":1}'),
        (pvd(10, 1, 1), '{"start":10,"end":1,"delta":1}'),
        (pvd(5, 5, -1), '{"start":5,"end":5,"delta":-1}'),
        ({"start": 1.5, "end": 10.0, "delta": 1}, '{"start":1.5,"end":10,"delta":1}'),
    ],
)
def test_an_invalid_descriptor_is_400(api: Api, descriptor: dict[str, Any], shown: str) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((VEGA_236, descriptor)))
    assert response.status_code == 400
    assert response.json() == {"error": f"Invalid partial volume descriptor: {shown}"}


def test_every_descriptor_is_checked_before_any_series_is_looked_up(api: Api) -> None:
    body = new_case((UNKNOWN_UID, pvd(1, 2)), (VEGA_236, {"start": 1, "end": 2}))
    response = api.as_user("bob").post("/api/cases", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": 'Invalid partial volume descriptor: {"start":1,"end":2}'}


def test_a_nonexistent_series_is_400(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((VEGA_236, pvd(1, 2)), (UNKNOWN_UID, pvd(1, 2))))
    assert response.status_code == 400
    assert response.json() == {"error": "Nonexistent series."}
    assert sync_db.clinicalCases.count_documents({}) == 4  # the fixtures only


@pytest.mark.parametrize("descriptor", [pvd(1, 237), pvd(237, 1, -1), pvd(200, 240), pvd(1, 301, 100)])
def test_a_descriptor_outside_the_series_images_is_400(api: Api, descriptor: dict[str, int]) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((VEGA_236, descriptor)))
    assert response.status_code == 400
    assert response.json() == {"error": "Specified range is invalid."}


def test_a_descriptor_with_a_step_fits_when_every_visited_image_exists(api: Api) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((VEGA_236, pvd(1, 201, 100))))
    assert response.status_code == 201


def test_a_series_outside_the_callers_domains_is_403(api: Api) -> None:
    body = new_case((SIRIUS, pvd(1, 150)))
    response = api.as_user("bob").post("/api/cases", json=body)
    assert response.status_code == 403
    assert response.json() == {"error": "You do not have privilege to access this series."}
    # frank writes on the project too, and has sirius.org
    assert api.as_user("frank").post("/api/cases", json=body).status_code == 201


def test_all_series_must_share_one_domain(api: Api) -> None:
    response = api.as_user("frank").post("/api/cases", json=new_case((VEGA_236, pvd(1, 2)), (SIRIUS, pvd(1, 2))))
    assert response.status_code == 400
    assert response.json() == {"error": "All series must belong to the same domain."}


def test_the_domain_is_checked_after_every_series_exists(api: Api) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((SIRIUS, pvd(1, 2)), (UNKNOWN_UID, pvd(1, 2))))
    assert response.status_code == 400
    assert response.json() == {"error": "Nonexistent series."}


def test_creating_a_case_needs_authentication_and_json(api: Api) -> None:
    response = api.as_user(None).post("/api/cases", json=new_case((VEGA_236, pvd(1, 2))))
    assert response.status_code == 401
    response = api.as_user("bob").post("/api/cases", content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


# ---- auto descriptors (spec 5.3) -------------------------------------------------------------


@pytest.fixture
def oriented_series(api: Api, app_settings: Settings, sync_db: Database) -> None:
    """CIRCUS's head-first and foot-first test series (images 1-10) in vega.org, files included
    (after `api`, which replaces the series collection with the fixtures)."""
    for prefix in ("head-first", "foot-first"):
        files = fixture_files(prefix)
        import_files(app_settings.dicom_dir, files)
        parsed = parse_dicom(files[0])
        now = dt.datetime(2020, 1, 1)
        sync_db.series.insert_one({
            **parsed.series_fields, "seriesUid": parsed.series_uid, "images": "1-10", "domain": "vega.org",
            "createdAt": now, "updatedAt": now,
        })


@pytest.mark.usefixtures("oriented_series")
def test_auto_descriptors_run_head_to_foot(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((HEAD_FIRST_UID, "auto"), (FOOT_FIRST_UID, "auto")))
    assert response.status_code == 201, response.text
    series = stored_case(sync_db, response.json()["caseId"])["latestRevision"]["series"]
    assert [s["partialVolumeDescriptor"] for s in series] == [pvd(1, 10), pvd(10, 1, -1)]


@pytest.mark.usefixtures("oriented_series")
def test_auto_is_resolved_before_the_write_role_is_checked(api: Api) -> None:
    response = api.as_user("guest").post("/api/cases", json=new_case((HEAD_FIRST_UID, "auto")))
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have write privilege for this project."}


def test_auto_on_a_series_without_files_is_400(api: Api) -> None:
    response = api.as_user("bob").post("/api/cases", json=new_case((VEGA_236, "auto")))
    assert response.status_code == 400
    assert response.json() == {
        "error": f"Cannot determine the partial volume descriptor of series {VEGA_236}: no image."
    }


# ---- GET /cases/:caseId ------------------------------------------------------------------------


def test_a_reader_gets_the_case_without_its_latest_revision(api: Api) -> None:
    response = api.as_user("frank").get(f"/api/cases/{CASE}")
    assert response.status_code == 200
    revision = {
        "creator": "alice@example.com",
        "date": "2015-01-01T12:00:00.000Z",
        "description": "Created",
        "attributes": {},
        "status": "draft",
        "series": [{"seriesUid": "111.222.333.444.666", "partialVolumeDescriptor": pvd(1, 100), "labels": []}],
    }
    assert response.json() == {
        "caseId": CASE,
        "projectId": LUNG,
        "revisions": [revision],
        "tags": ["happy"],
        "domains": [],
        "createdAt": "2020-01-01T00:00:00.000Z",
        "updatedAt": "2020-01-01T00:00:00.000Z",
    }


@pytest.mark.parametrize("user", ["guest", "alice"])
def test_reading_a_case_needs_the_read_role(api: Api, user: str) -> None:
    response = api.as_user(user).get(f"/api/cases/{CASE}")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "read" privilege of this project.'}


def test_an_unknown_case_is_404(api: Api) -> None:
    response = api.as_user("bob").get("/api/cases/nosuchcase")
    assert response.status_code == 404
    assert response.json() == {"error": "This case does not exist."}


# ---- POST /cases/:caseId/revision: labels ---------------------------------------------------

SECTION = {"origin": [0, 0, 0], "xAxis": [512, 0, 0], "yAxis": [0, 512, 0]}
VALID_LABELS: dict[str, dict[str, Any]] = {
    "voxel": {"voxels": None, "origin": [0, 0, 0], "size": [0, 0, 0], "color": "#ff0000", "alpha": 0.5},
    "cuboid": {"min": [0, 0, 0], "max": [10.5, 10, 10], "color": "#00ff00", "alpha": 1},
    "ellipsoid": {"min": [-1, -1, -1], "max": [1, 1, 1]},
    "rectangle": {"min": [0, 0], "max": [5, 5], "z": 3.5, "alpha": 0},
    "ellipse": {"min": [0, 0], "max": [5, 5], "z": 0},
    "polyline": {"points": [[0, 0], [1, 2], [3.5, 4]], "z": 2},
    "point": {"location": [1, 2, 3], "color": "#abcdef"},
    "ruler": {"section": SECTION, "start": [0, 0, 0], "end": [10, 10, 0], "labelPosition": [100, 20]},
}
# (type, data, where the error is reported)
INVALID_LABELS: list[tuple[str, dict[str, Any], str]] = [
    ("voxel", {"voxels": "NOT-A-HASH"}, ".data.voxels"),
    ("voxel", {"origin": [0, 0, 0]}, ".data"),  # voxels is required (null for an empty label)
    ("voxel", {"voxels": None, "size": [1, 1, 1.5]}, ".data.size[2]"),
    ("cuboid", {"min": [0, 0], "max": [1, 1, 1]}, ".data.min"),
    ("ellipsoid", {"min": [0, 0, 0]}, ".data"),
    ("rectangle", {"min": [0, 0], "max": [1, 1]}, ".data"),  # no z
    ("ellipse", {"min": [0, 0, 0], "max": [1, 1], "z": 0}, ".data.min"),
    ("polyline", {"points": [], "z": 1}, ".data.points"),
    ("polyline", {"points": [[0, 0, 0]], "z": 1}, ".data.points[0]"),
    ("point", {"location": [1, "2", 3]}, ".data.location[1]"),
    ("point", {"min": [0, 0, 0], "max": [1, 1, 1]}, ".data"),  # cuboid data under another type
    ("ruler", {"section": {"origin": [0, 0, 0], "xAxis": [1, 0, 0]}, "start": [0, 0, 0], "end": [1, 1, 1]},
     ".data.section"),
    ("ruler", {"section": SECTION, "start": [0, 0, 0], "end": [1, 1, 1], "labelPosition": [1, 2, 3]},
     ".data.labelPosition"),
]


@pytest.mark.parametrize("label_type", list(VALID_LABELS))
def test_each_label_type_is_accepted_with_its_data(api: Api, sync_db: Database, label_type: str) -> None:
    label = {"type": label_type, "data": VALID_LABELS[label_type], "name": "L1", "attributes": {"a": 1}}
    response = api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=revision([label]))
    assert response.status_code == 201, response.text
    assert response.content == b""
    assert stored_case(sync_db, CASE)["latestRevision"]["series"][0]["labels"] == [label]


@pytest.mark.parametrize(("label_type", "data", "where"), INVALID_LABELS)
def test_invalid_label_data_is_reported_at_the_field(
    api: Api, label_type: str, data: dict[str, Any], where: str
) -> None:
    labels = [{"type": "point", "data": VALID_LABELS["point"]}, {"type": label_type, "data": data}]
    response = api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=revision(labels))
    assert ".series[0].labels[1]" + where in validation_paths(response)


@pytest.mark.parametrize(
    ("label", "where"),
    [
        ({"type": "circle", "data": {}}, ".type"),
        ({"data": VALID_LABELS["point"]}, ""),
        ({"type": "point"}, ""),
        ({"type": "point", "data": VALID_LABELS["point"], "extra": 1}, ""),
        ({"type": "point", "data": {**VALID_LABELS["point"], "color": "#ABCDEF"}}, ".data.color"),
        ({"type": "point", "data": {**VALID_LABELS["point"], "color": "red"}}, ".data.color"),
        ({"type": "point", "data": {**VALID_LABELS["point"], "alpha": 1.5}}, ".data.alpha"),
        ({"type": "point", "data": {**VALID_LABELS["point"], "alpha": -0.1}}, ".data.alpha"),
        ({"type": "point", "data": {**VALID_LABELS["point"], "extra": 1}}, ".data"),
        ({"type": "point", "data": VALID_LABELS["point"], "name": 3}, ".name"),
        ({"type": "point", "data": VALID_LABELS["point"], "attributes": []}, ".attributes"),
    ],
)
def test_label_keys_name_color_and_alpha_are_checked(api: Api, label: dict[str, Any], where: str) -> None:
    response = api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=revision([label]))
    assert ".series[0].labels[0]" + where in validation_paths(response)


def test_a_null_name_is_allowed(api: Api) -> None:
    label = {"type": "point", "data": VALID_LABELS["point"], "name": None}
    assert api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=revision([label])).status_code == 201


# ---- POST /cases/:caseId/revision: the revision ----------------------------------------------


def test_a_revision_is_appended_and_becomes_the_latest(api: Api, sync_db: Database) -> None:
    before = stored_case(sync_db, CASE)
    response = api.as_user("frank").post(f"/api/cases/{CASE}/revision", json=revision([]))
    assert response.status_code == 201
    case = stored_case(sync_db, CASE)
    added = case["revisions"][-1]
    assert case["revisions"][:-1] == before["revisions"]
    assert case["latestRevision"] == added
    assert_recent(added["date"])
    assert added == {"creator": "frank@example.com", "date": added["date"], **revision([])}
    assert case["updatedAt"] > before["updatedAt"]
    # GET shows every revision but not latestRevision
    got = api.as_user("frank").get(f"/api/cases/{CASE}").json()
    assert len(got["revisions"]) == 2
    assert "latestRevision" not in got


@pytest.mark.parametrize(
    ("field", "message"),
    [("date", "You cannot specify revision date."), ("creator", "You cannot specify revision creator.")],
)
def test_date_and_creator_come_from_the_server(api: Api, field: str, message: str) -> None:
    response = api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=revision([], **{field: "x"}))
    assert response.status_code == 400
    assert response.json() == {"error": message}


@pytest.mark.parametrize("missing", ["description", "attributes", "status", "series"])
def test_a_revision_needs_its_four_fields(api: Api, missing: str) -> None:
    body = revision([])
    del body[missing]
    response = api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=body)
    errors = response.json()["validationErrors"]
    assert validation_paths(response) == [""]
    assert errors[0]["params"] == {"missingProperty": missing}


@pytest.mark.parametrize(
    ("entry", "where"),
    [
        ({"seriesUid": VEGA_236}, ".series[0]"),
        ({"seriesUid": VEGA_236, "labels": [], "other": 1}, ".series[0]"),
        ({"seriesUid": "x", "labels": []}, ".series[0].seriesUid"),
        ({"seriesUid": VEGA_236, "labels": [], "partialVolumeDescriptor": {"start": 1}},
         ".series[0].partialVolumeDescriptor"),
    ],
)
def test_revision_series_entries_are_checked(api: Api, entry: dict[str, Any], where: str) -> None:
    body = {**revision([]), "series": [entry]}
    assert where in validation_paths(api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=body))


def test_a_revision_may_omit_the_descriptor(api: Api) -> None:
    body = {**revision([]), "series": [{"seriesUid": VEGA_236, "labels": []}]}
    assert api.as_user("bob").post(f"/api/cases/{CASE}/revision", json=body).status_code == 201


@pytest.mark.parametrize("user", ["guest", "alice"])
def test_a_revision_needs_the_write_role(api: Api, user: str) -> None:
    response = api.as_user(user).post(f"/api/cases/{CASE}/revision", json=revision([]))
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "write" privilege of this project.'}


def test_a_revision_of_an_unknown_case_is_404(api: Api) -> None:
    response = api.as_user("bob").post("/api/cases/nosuchcase/revision", json=revision([]))
    assert response.status_code == 404
    assert response.json() == {"error": "This case does not exist."}


def test_voxel_blobs_must_be_stored_before_the_revision(api: Api, sync_db: Database) -> None:
    bob = api.as_user("bob")
    blobs = [b"\x01\x80" * 4, b"\xff" * 8]
    hashes = [hashlib.sha1(b).hexdigest() for b in blobs]
    labels = [
        {"type": "voxel", "data": {"voxels": hashes[0], "origin": [0, 0, 0], "size": [4, 4, 1]}},
        {"type": "voxel", "data": {"voxels": hashes[1], "origin": [1, 1, 1], "size": [8, 8, 1]}},
        {"type": "voxel", "data": {"voxels": hashes[0], "origin": [2, 2, 2], "size": [4, 4, 1]}},  # same blob
        {"type": "voxel", "data": {"voxels": None}},  # an empty label needs no blob
    ]
    body = revision(labels)

    response = bob.post(f"/api/cases/{CASE}/revision", json=body)
    assert response.status_code == 400
    assert response.json() == {"error": f"Some voxel data are missing ({hashes[0]}, {hashes[1]}). Store them first."}

    assert bob.put(f"/api/blob/{hashes[0]}", content=blobs[0], headers=OCTET).status_code == 201
    response = bob.post(f"/api/cases/{CASE}/revision", json=body)
    assert response.json() == {"error": f"Some voxel data are missing ({hashes[1]}). Store them first."}
    assert len(stored_case(sync_db, CASE)["revisions"]) == 1

    assert bob.put(f"/api/blob/{hashes[1]}", content=blobs[1], headers=OCTET).status_code == 201
    assert bob.post(f"/api/cases/{CASE}/revision", json=body).status_code == 201
    assert stored_case(sync_db, CASE)["latestRevision"]["series"][0]["labels"] == labels


def test_concurrent_revisions_are_all_kept(api: Api, sync_db: Database) -> None:
    bob = api.as_user("bob")

    def post(n: int) -> int:
        body = {**revision([]), "description": f"revision {n}"}
        return bob.post(f"/api/cases/{CASE}/revision", json=body).status_code

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(post, range(10)))
    assert statuses == [201] * 10
    case = stored_case(sync_db, CASE)
    descriptions = [r["description"] for r in case["revisions"][1:]]
    assert sorted(descriptions) == sorted(f"revision {n}" for n in range(10))
    assert case["latestRevision"] == case["revisions"][-1]


# ---- PUT /cases/:caseId/tags ---------------------------------------------------------------


def test_a_writer_replaces_the_tags_and_updated_at_moves(api: Api, sync_db: Database) -> None:
    before = stored_case(sync_db, CASE)
    tags = ["ufo", "x" * 32, "ufo"]
    response = api.as_user("frank").put(f"/api/cases/{CASE}/tags", json=tags)
    assert response.status_code == 204
    assert response.content == b""
    case = stored_case(sync_db, CASE)
    assert case["tags"] == tags
    assert case["updatedAt"] > before["updatedAt"]
    assert case["revisions"] == before["revisions"]


def test_a_tag_over_32_characters_is_400(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").put(f"/api/cases/{CASE}/tags", json=["ok", "x" * 33])
    assert response.status_code == 400
    assert response.json() == {"error": "Tag length is too large"}
    assert stored_case(sync_db, CASE)["tags"] == ["happy"]


def test_tag_length_counts_like_javascript(api: Api) -> None:
    # 16 characters outside the BMP are 32 UTF-16 code units: allowed; 17 are not
    assert api.as_user("bob").put(f"/api/cases/{CASE}/tags", json=["\U0001f600" * 16]).status_code == 204
    assert api.as_user("bob").put(f"/api/cases/{CASE}/tags", json=["\U0001f600" * 17]).status_code == 400


def test_setting_tags_needs_the_write_role_and_an_array(api: Api) -> None:
    response = api.as_user("guest").put(f"/api/cases/{CASE}/tags", json=["a"])
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "write" privilege of this project.'}
    assert validation_paths(api.as_user("bob").put(f"/api/cases/{CASE}/tags", json={"tags": ["a"]})) == [""]
    assert validation_paths(api.as_user("bob").put(f"/api/cases/{CASE}/tags", json=["a", 1])) == ["[1]"]
    assert api.as_user("bob").put("/api/cases/nosuchcase/tags", json=["a"]).status_code == 404


# ---- PATCH /cases/tags -----------------------------------------------------------------------

OTHER_CASE = "bfaeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715"  # tags: []


def patch_tags(api: Api, user: str, operation: str, tags: list[str], case_ids: list[str]) -> Any:
    body = {"operation": operation, "tags": tags, "caseIds": case_ids}
    return api.as_user(user).patch("/api/cases/tags", json=body)


def test_bulk_add_remove_and_set_leave_updated_at_alone(api: Api, sync_db: Database) -> None:
    before = {c: stored_case(sync_db, c)["updatedAt"] for c in (CASE, OTHER_CASE)}

    response = patch_tags(api, "bob", "add", ["happy", "ufo"], [CASE, OTHER_CASE])
    assert response.status_code == 204
    assert stored_case(sync_db, CASE)["tags"] == ["happy", "ufo"]
    assert stored_case(sync_db, OTHER_CASE)["tags"] == ["happy", "ufo"]

    assert patch_tags(api, "bob", "remove", ["happy", "absent"], [CASE]).status_code == 204
    assert stored_case(sync_db, CASE)["tags"] == ["ufo"]
    assert stored_case(sync_db, OTHER_CASE)["tags"] == ["happy", "ufo"]

    assert patch_tags(api, "bob", "set", ["z", "a"], [CASE, OTHER_CASE, CASE]).status_code == 204
    assert stored_case(sync_db, CASE)["tags"] == ["z", "a"]
    assert patch_tags(api, "bob", "set", [], [OTHER_CASE]).status_code == 204
    assert stored_case(sync_db, OTHER_CASE)["tags"] == []

    assert {c: stored_case(sync_db, c)["updatedAt"] for c in (CASE, OTHER_CASE)} == before


@pytest.mark.parametrize(
    ("operation", "tags", "case_ids", "message"),
    [
        ("add", ["a"], [CASE] * 1001, "Too many case IDs"),
        ("add", [str(n) for n in range(11)], [CASE], "Too many tags."),
        ("add", [], [CASE], "You must specify at least one tag."),
        ("remove", [], [CASE], "You must specify at least one tag."),
        ("set", ["x" * 33], [CASE], "The specified tag is too long."),
        # the request's own limits come before the cases are looked up
        ("add", [str(n) for n in range(11)], ["nosuchcase"], "Too many tags."),
    ],
)
def test_bulk_tag_limits_are_400(api: Api, operation: str, tags: list[str], case_ids: list[str], message: str) -> None:
    response = patch_tags(api, "bob", operation, tags, case_ids)
    assert response.status_code == 400
    assert response.json() == {"error": message}


def test_bulk_tag_limits_are_inclusive(api: Api, sync_db: Database) -> None:
    tags = [f"{n:02d}" + "x" * 30 for n in range(10)]
    assert patch_tags(api, "bob", "set", tags, [CASE] * 1000).status_code == 204
    assert stored_case(sync_db, CASE)["tags"] == tags


def test_bulk_tags_of_an_unknown_case_is_404(api: Api, sync_db: Database) -> None:
    response = patch_tags(api, "bob", "add", ["a"], [CASE, "nosuchcase"])
    assert response.status_code == 404
    assert response.json() == {"error": "Some case does not exist"}
    assert stored_case(sync_db, CASE)["tags"] == ["happy"]


def test_bulk_tags_need_write_on_every_case(api: Api, sync_db: Database) -> None:
    response = patch_tags(api, "guest", "add", ["a"], [CASE])
    assert response.status_code == 401
    assert response.json() == {"error": "You do not have write access to some of the specified cases."}
    # a case of a project bob cannot write on spoils the whole request
    sync_db.clinicalCases.update_one({"caseId": OTHER_CASE}, {"$set": {"projectId": "someotherproject"}})
    response = patch_tags(api, "bob", "add", ["a"], [CASE, OTHER_CASE])
    assert response.status_code == 401
    assert stored_case(sync_db, CASE)["tags"] == ["happy"]
    assert patch_tags(api, "bob", "add", ["a"], [CASE]).status_code == 204


@pytest.mark.parametrize(
    "body",
    [
        {"tags": ["a"], "caseIds": [CASE]},
        {"operation": "add", "caseIds": [CASE]},
        {"operation": "add", "tags": ["a"]},
        {"operation": "toggle", "tags": ["a"], "caseIds": [CASE]},
        {"operation": "add", "tags": ["a"], "caseIds": []},
        {"operation": "add", "tags": ["a"], "caseIds": [CASE], "extra": 1},
    ],
)
def test_a_malformed_bulk_tag_request_is_400(api: Api, body: dict[str, Any]) -> None:
    validation_paths(api.as_user("bob").patch("/api/cases/tags", json=body))


# ---- DELETE /cases/:caseId -------------------------------------------------------------------


def my_list_items(sync_db: Database) -> dict[str, list[str]]:
    return {d["myListId"]: [i["resourceId"] for i in d["items"]] for d in sync_db.myLists.find({})}


def test_a_moderator_deletes_a_case_in_no_my_list(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").delete(f"/api/cases/{CASE}")
    assert response.status_code == 204
    assert sync_db.clinicalCases.find_one({"caseId": CASE}) is None
    assert api.as_user("bob").get(f"/api/cases/{CASE}").status_code == 404


def test_a_case_in_someones_my_list_is_403(api: Api, sync_db: Database) -> None:
    lists_before = my_list_items(sync_db)
    response = api.as_user("bob").delete(f"/api/cases/{LISTED_CASE}")
    assert response.status_code == 403
    assert response.json() == {"error": "This case is in someone's my list."}
    assert sync_db.clinicalCases.find_one({"caseId": LISTED_CASE}) is not None
    assert my_list_items(sync_db) == lists_before


@pytest.mark.parametrize("force", ["1", "true"])
def test_force_takes_the_case_out_of_every_my_list_first(api: Api, sync_db: Database, force: str) -> None:
    before = my_list_items(sync_db)
    response = api.as_user("carol").delete(f"/api/cases/{LISTED_CASE}?force={force}")
    assert response.status_code == 204
    assert sync_db.clinicalCases.find_one({"caseId": LISTED_CASE}) is None
    after = my_list_items(sync_db)
    assert after == {k: [r for r in items if r != LISTED_CASE] for k, items in before.items()}
    assert after["01ewes10a08z21bjnysd4p1m3f"] == ["ankutrdbn53780cmm3489yxj01cmrm0cregtjcmveuhbi987gdhbtrdc780yn3er"]


def test_force_zero_is_no_force(api: Api) -> None:
    response = api.as_user("bob").delete(f"/api/cases/{LISTED_CASE}?force=0")
    assert response.status_code == 403


def test_deleting_needs_the_moderate_role(api: Api, sync_db: Database) -> None:
    response = api.as_user("frank").delete(f"/api/cases/{CASE}?force=1")
    assert response.status_code == 401
    assert response.json() == {"error": 'You do not have "moderate" privilege of this project.'}
    assert sync_db.clinicalCases.find_one({"caseId": CASE}) is not None


def test_deleting_an_unknown_case_is_404(api: Api) -> None:
    response = api.as_user("bob").delete("/api/cases/nosuchcase")
    assert response.status_code == 404
    assert response.json() == {"error": "This case does not exist."}
