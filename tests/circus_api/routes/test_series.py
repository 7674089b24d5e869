"""`/series` read side (spec 4.5 #12, #13, #16-#18) over HTTP, on CIRCUS's fixtures.

Fixture users: alice (domain sirius.org, manageServer, personalInfoView but preference off),
bob (vega.org + altair.org, personalInfoView with preference on, downloadVolume), dave
(all three domains, manageServer, personalInfoView with preference on), frank (all domains,
preference on but no personalInfoView), guest (nothing).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from circus_api.imaging.dicom_files import image_numbers, write_image
from circus_api.settings import Settings
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.fixture_files import FIXTURE_DICOM, FOOT_FIRST_UID, fixture_files, import_files

SIRIUS = ["111.222.333.444.444", "111.222.333.444.555", "111.222.333.444.666", "222.333.444.555.666",
          "333.444.555.666.777", "333.444.555.666.888"]
VEGA_ALTAIR = ["111.222.333.444.777", "111.222.333.444.888", "222.222.333.444.777"]
HEAD_FIRST = "333.444.555.666.777"  # fixture series "head_first", images 1-10, sirius.org
FOOT_FIRST = "333.444.555.666.888"  # fixture series "foot_first", images 1-10, sirius.org
BOBS_SERIES_LIST = "01ex36wt9c94s93j0rmk98nsj0"  # bob's own, holds 111.222.333.444.888
DAVES_SERIES_LIST = "01ez9knaakz9tgd2hpyceagj11"  # dave's own, holds 111.222.333.444.888
BOBS_CASE_LIST = "01ewes10a08z21bjnysd4p1m3f"  # bob's own, public, resourceType clinicalCases
DOMAIN_REFUSED = {"error": "You do not have privilege to access this series."}


def uids(body: dict[str, Any]) -> list[str]:
    return [item["seriesUid"] for item in body["items"]]


def search(api: Api, user: str, url: str = "/api/series", **params: Any) -> dict[str, Any]:
    query = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
    response = api.as_user(user).get(url, params=query)
    assert response.status_code == 200, response.text
    return dict(response.json())


def refusal(api: Api, user: str, url: str, **params: Any) -> tuple[int, Any]:
    query = {k: v if isinstance(v, str | int) else json.dumps(v) for k, v in params.items()}
    response = api.as_user(user).get(url, params=query)
    return response.status_code, response.json()


def store_fixture_files(root: Path, series_uid: str, prefix: str) -> None:
    """The ten head-first or foot-first files stored as the images 1..10 of `series_uid`."""
    for number, path in enumerate(fixture_files(prefix), start=1):
        write_image(root, series_uid, number, path.read_bytes())


# ---- GET /series -----------------------------------------------------------------------------


def test_search_returns_the_series_of_the_callers_domains_newest_first(api: Api) -> None:
    body = search(api, "alice")
    assert sorted(uids(body)) == sorted(SIRIUS)
    assert body["totalItems"] == 6 and body["page"] == 1
    # createdAt desc: 2020-11-10 first, 2017-11-10 last, the 2020-01-01 ones in between
    assert uids(body)[0] == "111.222.333.444.444" and uids(body)[-1] == "111.222.333.444.555"
    first = body["items"][0]
    assert first["createdAt"] == "2020-11-10T15:11:22.000Z"
    assert first["updatedAt"] == "2020-01-01T00:00:00.000Z"
    assert first["seriesDate"] == "2017-10-09T15:11:11.000Z"
    assert first["domain"] == "sirius.org"
    assert "_id" not in first

    assert sorted(uids(search(api, "bob"))) == sorted(VEGA_ALTAIR)
    assert search(api, "guest") == {"items": [], "totalItems": 0, "page": 1}


def test_patient_info_needs_the_privilege_and_the_preference(api: Api) -> None:
    bob = {item["seriesUid"]: item for item in search(api, "bob")["items"]}
    assert bob["111.222.333.444.888"]["patientInfo"] == {"patientId": "017", "patientName": "Koume", "age": 70}
    assert bob["111.222.333.444.777"]["patientInfo"] == {}
    # alice holds the privilege but her preference is off; frank wants it but lacks the privilege
    assert all("patientInfo" not in item for item in search(api, "alice")["items"])
    frank = search(api, "frank")
    assert frank["totalItems"] == 9
    assert all("patientInfo" not in item for item in frank["items"])


def test_filters_are_applied_within_the_access_filter(api: Api) -> None:
    assert sorted(uids(search(api, "bob", filter={"modality": "CT"}))) == sorted(VEGA_ALTAIR)
    assert uids(search(api, "alice", filter={"modality": "CT"})) == ["111.222.333.444.555"]
    regex = {"seriesDescription": {"$regex": "first$"}}
    assert sorted(uids(search(api, "alice", filter=regex))) == [HEAD_FIRST, FOOT_FIRST]
    recent = {"seriesDate": {"$gte": {"$date": "2020-01-01T00:00:00.000Z"}}}
    assert uids(search(api, "bob", filter=recent)) == ["111.222.333.444.888"]
    either = {"$or": [{"seriesUid": "111.222.333.444.444"}, {"studyUid": "111.222.333.888.999.1001"}]}
    assert sorted(uids(search(api, "alice", filter=either))) == ["111.222.333.444.444", "111.222.333.444.666"]
    # another domain's series cannot be found by naming it
    assert search(api, "bob", filter={"seriesUid": "111.222.333.444.444"})["totalItems"] == 0


def test_bad_filters_are_400(api: Api) -> None:
    assert refusal(api, "alice", "/api/series", filter="{bad") == (
        400, {"error": "Invalid JSON was passed as a filter string"}
    )
    assert refusal(api, "alice", "/api/series", filter={"domain": "vega.org"}) == (400, {"error": "Bad filter."})
    assert refusal(api, "alice", "/api/series", filter={"modality": {"$exists": True}}) == (
        400, {"error": "Bad filter."}
    )


def test_patient_filters_need_the_global_privilege(api: Api) -> None:
    by_name = {"patientInfo.patientName": "Koume"}
    nested = {"$and": [{"modality": "CT"}, {"$or": [{"patientInfo.age": {"$gte": 60}}]}]}
    refused = (400, {"error": "You cannot search using patient information."})
    assert refusal(api, "frank", "/api/series", filter=by_name) == refused
    assert refusal(api, "frank", "/api/series", filter=nested) == refused
    assert refusal(api, "guest", "/api/series", filter=by_name) == refused
    # positive controls: the privilege is enough, the preference only decides what is shown
    assert uids(search(api, "bob", filter=by_name)) == ["111.222.333.444.888"]
    assert uids(search(api, "bob", filter=nested)) == ["111.222.333.444.888"]
    alice = search(api, "alice", filter={"patientInfo.patientId": "015"})
    assert sorted(uids(alice)) == ["111.222.333.444.444", "222.333.444.555.666"]
    assert all("patientInfo" not in item for item in alice["items"])


def test_paging_and_sorting(api: Api) -> None:
    by_uid = search(api, "alice", sort={"seriesUid": 1})
    assert uids(by_uid) == sorted(SIRIUS)
    page = search(api, "alice", sort={"seriesUid": 1}, limit=4, page=2)
    assert page == {"items": by_uid["items"][4:], "totalItems": 6, "page": 2}
    assert search(api, "alice", limit=4, page=3) == {"items": [], "totalItems": 6, "page": 3}
    assert uids(search(api, "alice", sort={"seriesUid": -1}, limit=1)) == ["333.444.555.666.888"]
    assert refusal(api, "alice", "/api/series", limit=201) == (
        400, {"error": "You cannot query more than 200 items at a time."}
    )
    assert refusal(api, "alice", "/api/series", sort="[1]") == (
        400, {"error": "Bad sort parameter. Non-object passed."}
    )
    assert refusal(api, "alice", "/api/series", page=0)[0] == 400


def test_search_needs_authentication(api: Api) -> None:
    assert api.as_user(None).get("/api/series").status_code == 401


# ---- GET /series/list/:myListId --------------------------------------------------------------


def test_a_series_my_list_returns_its_accessible_series(api: Api) -> None:
    body = search(api, "bob", f"/api/series/list/{BOBS_SERIES_LIST}")
    assert uids(body) == ["111.222.333.444.888"]
    assert body["totalItems"] == 1
    item = body["items"][0]
    assert "addedToListAt" not in item and "_id" not in item
    assert item["patientInfo"] == {"patientId": "017", "patientName": "Koume", "age": 70}
    assert item["createdAt"] == "2020-01-01T00:00:00.000Z"
    assert uids(search(api, "dave", f"/api/series/list/{DAVES_SERIES_LIST}")) == ["111.222.333.444.888"]


def test_only_the_callers_own_series_lists_are_searched(api: Api) -> None:
    not_found = (404, {"error": "This my list does not exist"})
    assert refusal(api, "bob", f"/api/series/list/{DAVES_SERIES_LIST}") == not_found
    assert refusal(api, "alice", f"/api/series/list/{BOBS_SERIES_LIST}") == not_found
    assert refusal(api, "bob", "/api/series/list/nosuchlist") == not_found
    # a public list of someone else is not accepted either, nor a list for cases
    assert refusal(api, "alice", f"/api/series/list/{BOBS_CASE_LIST}") == not_found
    assert refusal(api, "bob", f"/api/series/list/{BOBS_CASE_LIST}") == (
        400, {"error": "This my list is not for series"}
    )
    # the list is checked before the query parameters
    assert refusal(api, "bob", f"/api/series/list/{DAVES_SERIES_LIST}", filter="{bad") == not_found


def test_my_list_items_are_sorted_by_addition_and_filtered_like_a_search(api: Api, sync_db: Database) -> None:
    items = [
        {"resourceId": "222.222.333.444.777", "createdAt": dt.datetime(2021, 3, 1)},
        {"resourceId": "111.222.333.444.888", "createdAt": dt.datetime(2021, 1, 1)},
        {"resourceId": "111.222.333.444.444", "createdAt": dt.datetime(2021, 5, 1)},  # sirius: not bob's
        {"resourceId": "9.9.9.9", "createdAt": dt.datetime(2021, 6, 1)},  # deleted series
        {"resourceId": "111.222.333.444.777", "createdAt": dt.datetime(2021, 2, 1)},
    ]
    sync_db.myLists.update_one({"myListId": BOBS_SERIES_LIST}, {"$set": {"items": items}})
    url = f"/api/series/list/{BOBS_SERIES_LIST}"

    body = search(api, "bob", url)
    assert uids(body) == ["222.222.333.444.777", "111.222.333.444.777", "111.222.333.444.888"]
    assert body["totalItems"] == 3
    assert all("addedToListAt" not in item for item in body["items"])
    assert uids(search(api, "bob", url, sort={"addedToListAt": 1})) == [
        "111.222.333.444.888", "111.222.333.444.777", "222.222.333.444.777"
    ]
    assert uids(search(api, "bob", url, sort={"seriesUid": 1}, limit=1, page=2)) == ["111.222.333.444.888"]
    assert uids(search(api, "bob", url, filter={"seriesDate": {"$lt": {"$date": "2018-01-01T00:00:00Z"}}})) == [
        "222.222.333.444.777", "111.222.333.444.777"
    ]
    assert refusal(api, "bob", url, filter={"myListId": "x"}) == (400, {"error": "Bad filter."})
    # dave sees the sirius series of the same items when it is his list
    sync_db.myLists.update_one({"myListId": DAVES_SERIES_LIST}, {"$set": {"items": items}})
    assert search(api, "dave", f"/api/series/list/{DAVES_SERIES_LIST}")["totalItems"] == 4


def test_my_list_patient_filters_need_the_global_privilege(api: Api, sync_db: Database) -> None:
    sync_db.users.update_one(
        {"userEmail": "frank@example.com"},
        {"$set": {"myLists": [{"myListId": BOBS_SERIES_LIST, "resourceType": "series", "name": "f",
                               "public": False, "editors": [], "createdAt": dt.datetime(2021, 1, 1)}]}},
    )
    url = f"/api/series/list/{BOBS_SERIES_LIST}"
    assert refusal(api, "frank", url, filter={"patientInfo.sex": "F"}) == (
        400, {"error": "You cannot search using patient information."}
    )
    frank = search(api, "frank", url)
    assert uids(frank) == ["111.222.333.444.888"] and "patientInfo" not in frank["items"][0]
    assert search(api, "bob", url, filter={"patientInfo.patientId": "017"})["totalItems"] == 1


# ---- GET /series/:seriesUid ------------------------------------------------------------------


def test_one_series_with_patient_info_per_the_callers_rights(api: Api) -> None:
    alice = api.as_user("alice").get("/api/series/111.222.333.444.444")
    assert alice.status_code == 200
    assert alice.json()["seriesUid"] == "111.222.333.444.444"
    assert alice.json()["images"] == "1"
    assert "patientInfo" not in alice.json()
    dave = api.as_user("dave").get("/api/series/111.222.333.444.444")
    assert dave.json()["patientInfo"] == {"patientId": "015", "patientName": "Sakura", "age": 20}
    assert dave.json()["createdAt"] == "2020-11-10T15:11:22.000Z"


def test_one_series_of_another_domain_is_403_and_an_unknown_one_404(api: Api) -> None:
    response = api.as_user("bob").get("/api/series/111.222.333.444.444")
    assert (response.status_code, response.json()) == (403, DOMAIN_REFUSED)
    response = api.as_user("guest").get("/api/series/111.222.333.444.888")
    assert (response.status_code, response.json()) == (403, DOMAIN_REFUSED)
    assert api.as_user("bob").get("/api/series/111.222.333.444.888").status_code == 200
    response = api.as_user("bob").get("/api/series/1.2.3.4.5")
    assert (response.status_code, response.json()) == (404, {"error": "This series does not exist."})


# ---- GET /series/:seriesUid/orientation ------------------------------------------------------


@pytest.fixture
def oriented(api: Api, settings: Settings) -> Api:
    store_fixture_files(settings.dicom_dir, HEAD_FIRST, "head-first")
    store_fixture_files(settings.dicom_dir, FOOT_FIRST, "foot-first")
    return api


def orientation_of(api: Api, user: str, series_uid: str, **params: str) -> tuple[int, Any]:
    response = api.as_user(user).get(f"/api/series/{series_uid}/orientation", params=params)
    return response.status_code, response.json()


def test_orientation_of_head_first_and_foot_first_series(oriented: Api) -> None:
    assert orientation_of(oriented, "alice", HEAD_FIRST) == (200, {"orientation": "head-first"})
    assert orientation_of(oriented, "alice", FOOT_FIRST) == (200, {"orientation": "foot-first"})
    # the answer describes the series, not the order of start and end
    assert orientation_of(oriented, "alice", HEAD_FIRST, start="10", end="1") == (200, {"orientation": "head-first"})
    assert orientation_of(oriented, "alice", FOOT_FIRST, start="9", end="2") == (200, {"orientation": "foot-first"})
    assert orientation_of(oriented, "alice", FOOT_FIRST, start="3") == (200, {"orientation": "foot-first"})


def test_orientation_of_a_series_stored_under_its_real_uid(api: Api, settings: Settings, sync_db: Database) -> None:
    import_files(settings.dicom_dir, fixture_files("foot-first"))
    series = sync_db.series.find_one({"seriesUid": FOOT_FIRST}, {"_id": 0})
    assert series is not None
    sync_db.series.insert_one({**series, "seriesUid": FOOT_FIRST_UID, "domain": "vega.org"})
    assert orientation_of(api, "bob", FOOT_FIRST_UID) == (200, {"orientation": "foot-first"})


def test_a_single_image_series_is_head_first(api: Api, settings: Settings) -> None:
    write_image(settings.dicom_dir, "111.222.333.444.444", 1, (FIXTURE_DICOM / "CT-MONO2-16-brain.dcm").read_bytes())
    assert orientation_of(api, "alice", "111.222.333.444.444") == (200, {"orientation": "head-first"})


@pytest.mark.parametrize("value", ["0", "-1", "+1", "01", "1.5", "1e2", "abc", " 1", "\u0661"])  # Arabic-Indic 1
def test_start_and_end_must_be_plain_positive_integers(oriented: Api, value: str) -> None:
    invalid = (400, {"error": "Invalid string"})
    assert orientation_of(oriented, "alice", HEAD_FIRST, start=value) == invalid
    assert orientation_of(oriented, "alice", HEAD_FIRST, end=value) == invalid


def test_a_repeated_start_is_an_invalid_string(oriented: Api) -> None:
    response = oriented.as_user("alice").get(f"/api/series/{HEAD_FIRST}/orientation?start=1&start=2")
    assert (response.status_code, response.json()) == (400, {"error": "Invalid string"})


def test_start_and_end_must_be_images_of_the_series(oriented: Api) -> None:
    out = (400, {"error": "The given start/end number is out of bounds."})
    assert orientation_of(oriented, "alice", HEAD_FIRST, start="11") == out
    assert orientation_of(oriented, "alice", HEAD_FIRST, end="11") == out
    assert orientation_of(oriented, "alice", HEAD_FIRST, start="1" * 40) == out
    # bounds come before the domain check; a valid range then meets the domain check
    assert orientation_of(oriented, "bob", HEAD_FIRST, start="11") == out
    assert orientation_of(oriented, "bob", HEAD_FIRST, start="2") == (403, DOMAIN_REFUSED)
    assert orientation_of(oriented, "alice", HEAD_FIRST, start="2", end="10") == (200, {"orientation": "head-first"})


def test_orientation_of_an_unknown_series_is_404_before_anything_else(oriented: Api) -> None:
    assert orientation_of(oriented, "alice", "1.2.3.4", start="x") == (404, {"error": "This series does not exist."})


def test_orientation_without_dicom_files_is_a_500_with_the_reason(api: Api) -> None:
    assert orientation_of(api, "alice", "111.222.333.444.666") == (500, {"error": "no image"})


# ---- DELETE /series/:seriesUid ---------------------------------------------------------------


def delete(api: Api, user: str, series_uid: str) -> tuple[int, Any]:
    response = api.as_user(user).delete(f"/api/series/{series_uid}")
    return response.status_code, response.json() if response.content else None


def test_deleting_a_series_removes_the_document_and_its_files(
    api: Api, settings: Settings, sync_db: Database
) -> None:
    store_fixture_files(settings.dicom_dir, "222.333.444.555.666", "head-first")
    assert delete(api, "alice", "222.333.444.555.666") == (204, None)
    assert sync_db.series.count_documents({"seriesUid": "222.333.444.555.666"}) == 0
    assert image_numbers(settings.dicom_dir, "222.333.444.555.666") == []
    assert not (settings.dicom_dir / "222.333.444.555.666").exists()
    assert api.as_user("alice").get("/api/series/222.333.444.555.666").status_code == 404
    # a series without files is deleted as well; other series keep theirs
    store_fixture_files(settings.dicom_dir, HEAD_FIRST, "head-first")
    assert delete(api, "alice", FOOT_FIRST) == (204, None)
    assert image_numbers(settings.dicom_dir, HEAD_FIRST) == list(range(1, 11))
    assert delete(api, "alice", "222.333.444.555.666") == (404, {"error": "This series does not exist."})


def test_deleting_needs_manage_server(api: Api, sync_db: Database) -> None:
    refused = (401, {"error": "You do not have sufficient privilege to access this resource. manageServer"})
    assert delete(api, "bob", "222.222.333.444.777") == refused
    assert delete(api, "frank", "222.222.333.444.777") == refused
    assert delete(api, "frank", "1.2.3.4.5") == refused  # before looking the series up
    assert sync_db.series.count_documents({"seriesUid": "222.222.333.444.777"}) == 1


def test_deleting_a_series_of_another_domain_is_403(api: Api, sync_db: Database) -> None:
    assert delete(api, "alice", "222.222.333.444.777") == (403, DOMAIN_REFUSED)
    assert sync_db.series.count_documents({"seriesUid": "222.222.333.444.777"}) == 1
    assert delete(api, "dave", "222.222.333.444.777") == (204, None)
    assert sync_db.series.count_documents({"seriesUid": "222.222.333.444.777"}) == 0


def test_a_series_used_by_a_job_or_a_case_is_kept(api: Api, sync_db: Database) -> None:
    job_refusal = (400, {"error": "There is a plug-in job associated with this series."})
    case_refusal = (400, {"error": "There is a case associated with this series."})
    assert delete(api, "alice", "111.222.333.444.444") == job_refusal
    assert delete(api, "alice", "111.222.333.444.666") == job_refusal  # a job and a case: the job first
    assert delete(api, "dave", "111.222.333.444.888") == case_refusal
    assert sync_db.series.count_documents({"seriesUid": {"$in": ["111.222.333.444.444", "111.222.333.444.888"]}}) == 2

    # positive controls: without the references the same requests succeed
    sync_db.pluginJobs.delete_many({"series.seriesUid": "111.222.333.444.444"})
    assert delete(api, "alice", "111.222.333.444.444") == (204, None)
    sync_db.clinicalCases.delete_many({"revisions.series.seriesUid": "111.222.333.444.888"})
    assert delete(api, "dave", "111.222.333.444.888") == (204, None)


def test_a_series_only_in_an_old_revision_is_kept_too(api: Api, sync_db: Database) -> None:
    now = dt.datetime(2021, 1, 1)
    old = {"creator": "alice@example.com", "date": now, "description": "old", "attributes": {}, "status": "draft",
           "series": [{"seriesUid": "222.333.444.555.666", "labels": []}]}
    latest = {**old, "description": "new", "series": [{"seriesUid": "111.222.333.444.555", "labels": []}]}
    sync_db.clinicalCases.insert_one({
        "caseId": "01revisioncase000000000000", "projectId": "8883fdef6f5144f50eb2a83cd34baa44", "tags": [],
        "revisions": [old, latest], "latestRevision": latest, "domains": ["sirius.org"],
        "createdAt": now, "updatedAt": now,
    })
    assert delete(api, "alice", "222.333.444.555.666") == (
        400, {"error": "There is a case associated with this series."}
    )
