"""My lists: `/mylists`, `/mylists/:myListId`, `/mylists/:myListId/items` (spec 4.8, 9 items 9-10).

Fixture lists: bob owns BOB_PUBLIC (cases, public), BOB_PRIVATE (cases), BOB_PRIVATE_2 (cases) and
BOB_SERIES (series); carol owns CAROL_LIST (cases, empty); dave owns DAVE_SERIES, DAVE_CASES (public,
editors dave and bob by e-mail) and DAVE_JOBS (plug-in jobs). Group 5 holds only frank.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from pymongo.database import Database

from circus_api.app import create_app
from circus_api.settings import Settings
from tests.circus_api.conftest import TOKENS, Api
from tests.circus_api.tasks_harness import wait_until
from tests.circus_fixtures import load_fixtures
from tests.conftest import free_port

BOB_PUBLIC = "01ewes10a08z21bjnysd4p1m3f"
BOB_PRIVATE = "01ewetw0chv8v5vxdtjdf6x9rk"
BOB_PRIVATE_2 = "01ewetywx9q6s2n5s03y3219ka"
BOB_SERIES = "01ex36wt9c94s93j0rmk98nsj0"
CAROL_LIST = "01ex36f2n99kjaqvpfrerrsryp"
DAVE_CASES = "01ezab6xqfac7hvm5s09yw1g1j"
DAVE_JOBS = "01ezahm939cbyfk73g3jhw1d0b"
CASE_A = "gfdrjivu4w8p57nv95p7n485n3p891ygy6543wedfuyt67oiulkjhtrw312wergr"
CASE_B = "ankutrdbn53780cmm3489yxj01cmrm0cregtjcmveuhbi987gdhbtrdc780yn3er"
CASE_C = "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"
SERIES_A = "111.222.333.444.444"
SERIES_B = "111.222.333.444.555"
JOB_A = "01dxgwvcw65d9av37p2bsy57vb"
ULID = re.compile(r"^[0-9a-z]{26}$")
NOT_FOUND = {"error": "This my list does not exist"}
CANNOT_EDIT_ITEMS = {"error": "You cannot edit the items of this my list."}
WATCHED = ("users", "myLists", "series", "clinicalCases", "pluginJobs")


def snapshot(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every document a my-list handler may touch, to prove that a refusal wrote nothing."""
    return {name: list(db[name].find({}, {"_id": 0}).sort("createdAt", 1)) for name in WATCHED}


@pytest.fixture
def before(api: Api, sync_db: Database) -> dict[str, list[dict[str, Any]]]:
    return snapshot(sync_db)


def own_list(db: Database, user: str, my_list_id: str) -> dict[str, Any] | None:
    doc = db.users.find_one({"userEmail": f"{user}@example.com"})
    assert doc is not None
    return next((entry for entry in doc["myLists"] if entry["myListId"] == my_list_id), None)


def item_ids(db: Database, my_list_id: str) -> list[str]:
    doc = db.myLists.find_one({"myListId": my_list_id})
    assert doc is not None
    return [item["resourceId"] for item in doc["items"]]


def set_editors(db: Database, owner: str, my_list_id: str, editors: list[dict[str, Any]]) -> None:
    db.users.update_one(
        {"userEmail": f"{owner}@example.com", "myLists.myListId": my_list_id},
        {"$set": {"myLists.$.editors": editors}},
    )


def patch_items(api: Api, user: str, my_list_id: str, operation: str, ids: list[str]) -> httpx.Response:
    return api.as_user(user).patch(
        f"/api/mylists/{my_list_id}/items", json={"operation": operation, "resourceIds": ids}
    )


# ---- 31. GET /mylists ---------------------------------------------------------------------------


def test_listing_answers_the_callers_own_subdocuments_without_items(api: Api) -> None:
    response = api.as_user("bob").get("/api/mylists")
    assert response.status_code == 200
    body = response.json()
    assert [entry["myListId"] for entry in body] == [BOB_PUBLIC, BOB_PRIVATE, BOB_PRIVATE_2, BOB_SERIES]
    assert body[0] == {
        "myListId": BOB_PUBLIC, "resourceType": "clinicalCases", "name": "Bob's MyList", "public": True,
        "editors": [], "createdAt": "2014-07-13T15:53:03.000Z",
    }


def test_listing_shows_neither_shared_nor_public_lists_of_others(api: Api) -> None:
    # bob edits dave's public list, but it is not his own
    assert DAVE_CASES not in [entry["myListId"] for entry in api.as_user("bob").get("/api/mylists").json()]
    response = api.as_user("guest").get("/api/mylists")
    assert response.status_code == 200
    assert response.json() == []


def test_listing_needs_authentication(api: Api) -> None:
    assert api.as_user(None).get("/api/mylists").status_code == 401


# ---- 32. GET /mylists/:myListId -----------------------------------------------------------------


def test_the_owner_reads_a_private_list_with_its_resource_ids_in_list_order(api: Api) -> None:
    response = api.as_user("bob").get(f"/api/mylists/{BOB_PUBLIC}")
    assert response.status_code == 200
    assert response.json() == {
        "myListId": BOB_PUBLIC, "resourceType": "clinicalCases", "name": "Bob's MyList", "public": True,
        "editors": [], "createdAt": "2014-07-13T15:53:03.000Z", "resourceIds": [CASE_A, CASE_B],
    }
    private = api.as_user("bob").get(f"/api/mylists/{BOB_SERIES}")
    assert private.status_code == 200
    assert private.json()["resourceIds"] == ["111.222.333.444.888"]


def test_paths_are_case_insensitive_and_tolerate_a_trailing_slash(api: Api) -> None:
    response = api.as_user("bob").get(f"/api/myLists/{BOB_PRIVATE}/")
    assert response.status_code == 200
    assert response.json()["resourceIds"] == [CASE_A]


def test_anyone_reads_a_public_list_of_another_user(api: Api) -> None:
    response = api.as_user("guest").get(f"/api/mylists/{BOB_PUBLIC}")
    assert response.status_code == 200
    assert response.json()["resourceIds"] == [CASE_A, CASE_B]


def test_another_user_cannot_read_a_private_list(api: Api) -> None:
    response = api.as_user("guest").get(f"/api/mylists/{BOB_PRIVATE}")
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot read the items of this my list."}


def test_an_editor_of_a_private_list_can_change_its_items_but_not_read_them(api: Api, sync_db: Database) -> None:
    set_editors(sync_db, "bob", BOB_PRIVATE, [{"type": "user", "userEmail": "carol@example.com"}])
    response = api.as_user("carol").get(f"/api/mylists/{BOB_PRIVATE}")
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot read the items of this my list."}
    added = patch_items(api, "carol", BOB_PRIVATE, "add", [CASE_B])
    assert added.status_code == 200
    assert added.json() == {"changedCount": 1}
    assert item_ids(sync_db, BOB_PRIVATE) == [CASE_A, CASE_B]


def test_reading_an_unknown_list_is_404(api: Api) -> None:
    response = api.as_user("bob").get("/api/mylists/01xxxxxxxxxxxxxxxxxxxxxxxx")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_list_whose_item_document_is_missing_is_404_even_for_its_owner(api: Api, sync_db: Database) -> None:
    sync_db.myLists.delete_one({"myListId": BOB_PRIVATE})
    response = api.as_user("bob").get(f"/api/mylists/{BOB_PRIVATE}")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_reading_leaves_no_lock_field_behind(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    assert api.as_user("bob").get(f"/api/mylists/{BOB_PRIVATE}").status_code == 200
    assert snapshot(sync_db) == before


# ---- 33. POST /mylists --------------------------------------------------------------------------


def test_creating_a_list_writes_the_subdocument_and_an_empty_item_document(api: Api, sync_db: Database) -> None:
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    response = api.as_user("guest").post(
        "/api/mylists", json={"name": "Interesting", "resourceType": "series", "public": False}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"myListId"}
    my_list_id = response.json()["myListId"]
    assert ULID.match(my_list_id)

    entry = own_list(sync_db, "guest", my_list_id)
    assert entry is not None
    created = entry.pop("createdAt")
    assert entry == {"myListId": my_list_id, "resourceType": "series", "name": "Interesting", "public": False,
                     "editors": []}
    assert started <= created <= dt.datetime.now(dt.UTC).replace(tzinfo=None)
    items = sync_db.myLists.find_one({"myListId": my_list_id}, {"_id": 0})
    assert items is not None
    assert items["items"] == []
    assert set(items) == {"myListId", "items", "createdAt", "updatedAt"}

    listed = api.as_user("guest").get(f"/api/mylists/{my_list_id}")
    assert listed.status_code == 200
    assert listed.json()["resourceIds"] == []


def test_a_new_list_is_appended_after_the_existing_ones(api: Api) -> None:
    my_list_id = api.as_user("bob").post(
        "/api/mylists", json={"name": "Jobs", "resourceType": "pluginJobs", "public": True}
    ).json()["myListId"]
    listed = api.as_user("bob").get("/api/mylists").json()
    assert [entry["myListId"] for entry in listed] == [BOB_PUBLIC, BOB_PRIVATE, BOB_PRIVATE_2, BOB_SERIES, my_list_id]


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "resourceType": "series"},
        {"name": "x", "resourceType": "series", "public": False, "editors": []},
        {"name": "", "resourceType": "series", "public": False},
        {"name": "x" * 65, "resourceType": "series", "public": False},
        {"name": "x", "resourceType": "cases", "public": False},
        {"name": "x", "resourceType": "series", "public": "no"},
    ],
    ids=["missing-public", "extra-key", "empty-name", "long-name", "bad-type", "public-not-boolean"],
)
def test_creating_with_a_bad_body_is_400_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any], body: dict[str, Any]
) -> None:
    response = api.as_user("bob").post("/api/mylists", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert response.json()["validationErrors"]
    assert snapshot(sync_db) == before


def test_a_name_of_64_characters_is_accepted(api: Api) -> None:
    response = api.as_user("bob").post(
        "/api/mylists", json={"name": "x" * 64, "resourceType": "series", "public": False}
    )
    assert response.status_code == 201


# ---- 34. PATCH /mylists/:myListId -------------------------------------------------------------


def test_the_owner_renames_a_list_and_makes_it_public(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").patch(f"/api/mylists/{BOB_PRIVATE}", json={"name": "Renamed", "public": True})
    assert response.status_code == 204
    entry = own_list(sync_db, "bob", BOB_PRIVATE)
    assert entry is not None
    assert (entry["name"], entry["public"], entry["editors"]) == ("Renamed", True, [])
    # the other lists of the owner are untouched
    other = own_list(sync_db, "bob", BOB_PRIVATE_2)
    assert other is not None and (other["name"], other["public"]) == ("MyList2", False)
    assert api.as_user("guest").get(f"/api/mylists/{BOB_PRIVATE}").status_code == 200


def test_the_owner_replaces_the_editors(api: Api, sync_db: Database) -> None:
    editors = [{"type": "user", "userEmail": "carol@example.com"}, {"type": "group", "groupId": 5}]
    response = api.as_user("dave").patch(f"/api/mylists/{DAVE_CASES}", json={"editors": editors})
    assert response.status_code == 204
    entry = own_list(sync_db, "dave", DAVE_CASES)
    assert entry is not None
    assert entry["editors"] == editors
    assert entry["name"] == "Dave's case list"


def test_an_editor_cannot_change_a_list_it_does_not_own(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    # bob is an editor of dave's list by e-mail: he may change items, not the list
    response = api.as_user("bob").patch(f"/api/mylists/{DAVE_CASES}", json={"name": "Mine"})
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot edit a my list you do not own"}
    assert snapshot(sync_db) == before


def test_a_stranger_cannot_change_a_list(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    response = api.as_user("guest").patch(f"/api/mylists/{BOB_PUBLIC}", json={"public": False})
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot edit a my list you do not own"}
    assert snapshot(sync_db) == before


def test_changing_an_unknown_list_is_404(api: Api) -> None:
    response = api.as_user("bob").patch("/api/mylists/nonexistent", json={"name": "x"})
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_an_editor_user_that_does_not_exist_is_400_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any]
) -> None:
    editors = [{"type": "user", "userEmail": "carol@example.com"}, {"type": "user", "userEmail": "nobody@example.com"}]
    response = api.as_user("bob").patch(f"/api/mylists/{BOB_PRIVATE}", json={"name": "New", "editors": editors})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid email address is included"}
    assert snapshot(sync_db) == before


def test_an_editor_group_that_does_not_exist_is_400_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any]
) -> None:
    editors = [{"type": "group", "groupId": 5}, {"type": "group", "groupId": 999}]
    response = api.as_user("bob").patch(f"/api/mylists/{BOB_PRIVATE}", json={"editors": editors})
    assert response.status_code == 400
    assert response.json() == {"error": "Invalid group ID is included"}
    assert snapshot(sync_db) == before


def test_the_editors_can_be_emptied(api: Api, sync_db: Database) -> None:
    assert api.as_user("dave").patch(f"/api/mylists/{DAVE_CASES}", json={"editors": []}).status_code == 204
    entry = own_list(sync_db, "dave", DAVE_CASES)
    assert entry is not None and entry["editors"] == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"resourceType": "series"},
        {"name": ""},
        {"editors": [{"type": "user"}]},
        {"editors": [{"type": "group", "groupId": "5"}]},
        {"editors": [{"type": "robot", "userEmail": "bob@example.com"}]},
    ],
    ids=["empty", "resource-type", "empty-name", "user-without-email", "group-id-string", "unknown-type"],
)
def test_changing_with_a_bad_body_is_400_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any], body: dict[str, Any]
) -> None:
    response = api.as_user("bob").patch(f"/api/mylists/{BOB_PRIVATE}", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert snapshot(sync_db) == before


# ---- 35. DELETE /mylists/:myListId ------------------------------------------------------------


def test_the_owner_deletes_both_parts_of_a_list(api: Api, sync_db: Database) -> None:
    response = api.as_user("bob").delete(f"/api/mylists/{BOB_PRIVATE}")
    assert response.status_code == 204
    assert own_list(sync_db, "bob", BOB_PRIVATE) is None
    assert sync_db.myLists.find_one({"myListId": BOB_PRIVATE}) is None
    assert [entry["myListId"] for entry in api.as_user("bob").get("/api/mylists").json()] == [
        BOB_PUBLIC, BOB_PRIVATE_2, BOB_SERIES
    ]
    assert sync_db.myLists.find_one({"myListId": BOB_PRIVATE_2}) is not None
    assert api.as_user("bob").get(f"/api/mylists/{BOB_PRIVATE}").status_code == 404


def test_an_editor_cannot_delete_a_list_it_does_not_own(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    response = api.as_user("bob").delete(f"/api/mylists/{DAVE_CASES}")
    assert response.status_code == 401
    assert response.json() == {"error": "You cannot delete a my list you do not own"}
    assert snapshot(sync_db) == before
    assert api.as_user("dave").delete(f"/api/mylists/{DAVE_CASES}").status_code == 204


def test_deleting_an_unknown_list_is_404(api: Api) -> None:
    response = api.as_user("bob").delete("/api/mylists/nonexistent")
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


# ---- 36. PATCH /mylists/:myListId/items -------------------------------------------------------


def test_the_owner_adds_items_with_a_creation_time_at_the_end(api: Api, sync_db: Database) -> None:
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(seconds=1)
    response = patch_items(api, "carol", CAROL_LIST, "add", [CASE_B, CASE_A])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 2}
    doc = sync_db.myLists.find_one({"myListId": CAROL_LIST})
    assert doc is not None
    assert [item["resourceId"] for item in doc["items"]] == [CASE_B, CASE_A]
    assert all(started <= item["createdAt"] <= doc["updatedAt"] for item in doc["items"])
    assert api.as_user("carol").get(f"/api/mylists/{CAROL_LIST}").json()["resourceIds"] == [CASE_B, CASE_A]


def test_adding_locks_nothing_permanently(api: Api, sync_db: Database) -> None:
    assert patch_items(api, "carol", CAROL_LIST, "add", [CASE_C]).status_code == 200
    for name in WATCHED:
        assert sync_db[name].count_documents({"myLock": {"$exists": True}}) == 0


def test_series_and_job_lists_take_ids_of_their_own_collection(api: Api, sync_db: Database) -> None:
    assert patch_items(api, "bob", BOB_SERIES, "add", [SERIES_A]).json() == {"changedCount": 1}
    assert item_ids(sync_db, BOB_SERIES) == ["111.222.333.444.888", SERIES_A]
    assert patch_items(api, "dave", DAVE_JOBS, "add", [JOB_A]).json() == {"changedCount": 1}
    assert item_ids(sync_db, DAVE_JOBS) == ["01dxgwv3k0medrvhdag4mpw9wa", JOB_A]


@pytest.mark.parametrize(
    ("user", "my_list_id", "ids"),
    [
        ("bob", BOB_SERIES, [CASE_C]),  # a case into a series list
        ("carol", CAROL_LIST, [SERIES_A]),  # a series into a case list
        ("dave", DAVE_JOBS, [CASE_C]),  # a case into a job list
        ("carol", CAROL_LIST, [CASE_C, "no-such-case"]),  # one good ID does not save the request
    ],
    ids=["case-into-series", "series-into-cases", "case-into-jobs", "one-missing"],
)
def test_adding_an_id_missing_from_the_lists_collection_is_404_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any], user: str, my_list_id: str, ids: list[str]
) -> None:
    response = patch_items(api, user, my_list_id, "add", ids)
    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert snapshot(sync_db) == before


def test_the_404_names_the_missing_ids(api: Api) -> None:
    response = patch_items(api, "carol", CAROL_LIST, "add", [CASE_C, "nope-1", "nope-2"])
    assert response.status_code == 404
    assert response.json() == {"error": "Nonexistent case ID: nope-1, nope-2"}


def test_ids_already_listed_and_repeats_in_the_request_are_ignored(api: Api, sync_db: Database) -> None:
    response = patch_items(api, "bob", BOB_PRIVATE, "add", [CASE_A, CASE_B, CASE_B, CASE_C, CASE_A])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 2}
    assert item_ids(sync_db, BOB_PRIVATE) == [CASE_A, CASE_B, CASE_C]


def test_adding_only_listed_ids_changes_nothing_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any]
) -> None:
    response = patch_items(api, "bob", BOB_PUBLIC, "add", [CASE_B, CASE_A, CASE_B])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 0}
    assert snapshot(sync_db) == before


def test_removing_ignores_ids_that_are_not_listed(api: Api, sync_db: Database) -> None:
    response = patch_items(api, "bob", BOB_PUBLIC, "remove", [CASE_A, "not-listed", CASE_A])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 1}
    assert item_ids(sync_db, BOB_PUBLIC) == [CASE_B]


def test_removing_needs_no_existing_resource(api: Api, sync_db: Database) -> None:
    # a listed resource that was deleted meanwhile can still be taken off the list
    sync_db.clinicalCases.delete_one({"caseId": CASE_A})
    response = patch_items(api, "bob", BOB_PUBLIC, "remove", [CASE_A])
    assert response.json() == {"changedCount": 1}


def test_removing_nothing_listed_writes_nothing(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    response = patch_items(api, "bob", BOB_PUBLIC, "remove", ["not-listed", CASE_C])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 0}
    assert snapshot(sync_db) == before


def test_an_editor_by_e_mail_changes_items(api: Api, sync_db: Database) -> None:
    response = patch_items(api, "bob", DAVE_CASES, "add", [CASE_B])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 1}
    assert item_ids(sync_db, DAVE_CASES) == [CASE_A, CASE_B]


def test_an_editor_by_group_changes_items(api: Api, sync_db: Database, before: dict[str, Any]) -> None:
    # frank is the only member of group 5; group 3 (guest, eve) is not an editor
    refused = patch_items(api, "frank", CAROL_LIST, "add", [CASE_A])
    assert refused.status_code == 401
    assert refused.json() == CANNOT_EDIT_ITEMS
    assert snapshot(sync_db) == before

    set_editors(sync_db, "carol", CAROL_LIST, [{"type": "group", "groupId": 5}])
    response = patch_items(api, "frank", CAROL_LIST, "add", [CASE_A])
    assert response.status_code == 200
    assert response.json() == {"changedCount": 1}
    assert patch_items(api, "guest", CAROL_LIST, "add", [CASE_B]).json() == CANNOT_EDIT_ITEMS


def test_a_group_editor_matches_any_one_of_the_callers_groups(api: Api, sync_db: Database) -> None:
    # Re-impl: dave is in groups 1 and 4; group 4 alone as editor is enough
    set_editors(sync_db, "bob", BOB_PRIVATE, [{"type": "group", "groupId": 4}])
    assert patch_items(api, "dave", BOB_PRIVATE, "add", [CASE_B]).json() == {"changedCount": 1}


def test_a_stranger_cannot_change_items_even_of_a_public_list(
    api: Api, sync_db: Database, before: dict[str, Any]
) -> None:
    for operation, ids in (("add", [CASE_C]), ("remove", [CASE_A])):
        response = patch_items(api, "guest", BOB_PUBLIC, operation, ids)
        assert response.status_code == 401
        assert response.json() == CANNOT_EDIT_ITEMS
    assert snapshot(sync_db) == before


def test_changing_items_of_an_unknown_list_is_404(api: Api) -> None:
    response = patch_items(api, "bob", "nonexistent", "add", [CASE_A])
    assert response.status_code == 404
    assert response.json() == NOT_FOUND


def test_a_list_cannot_grow_beyond_1000_items(api: Api, sync_db: Database) -> None:
    now = dt.datetime(2021, 1, 1)
    sync_db.myLists.update_one(
        {"myListId": BOB_SERIES},
        {"$set": {"items": [{"resourceId": f"1.2.{n}", "createdAt": now} for n in range(999)]}},
    )
    before = snapshot(sync_db)
    response = patch_items(api, "bob", BOB_SERIES, "add", [SERIES_A, SERIES_B])
    assert response.status_code == 400
    assert response.json() == {"error": "The number of items cannot exceed 1000"}
    assert snapshot(sync_db) == before

    # positive control: the 1000th item fits, and a listed ID does not count as new
    assert patch_items(api, "bob", BOB_SERIES, "add", [SERIES_A, SERIES_A]).json() == {"changedCount": 1}
    assert patch_items(api, "bob", BOB_SERIES, "add", [SERIES_A]).json() == {"changedCount": 0}
    assert len(item_ids(sync_db, BOB_SERIES)) == 1000


@pytest.mark.parametrize(
    "body",
    [
        {"operation": "add"},
        {"resourceIds": [CASE_A]},
        {"operation": "replace", "resourceIds": [CASE_A]},
        {"operation": "add", "resourceIds": []},
        {"operation": "add", "resourceIds": [CASE_A] * 1001},
        {"operation": "add", "resourceIds": [1]},
        {"operation": "add", "resourceIds": [CASE_A], "extra": 1},
    ],
    ids=["no-ids", "no-operation", "bad-operation", "empty-ids", "1001-ids", "number-id", "extra-key"],
)
def test_changing_items_with_a_bad_body_is_400_and_writes_nothing(
    api: Api, sync_db: Database, before: dict[str, Any], body: dict[str, Any]
) -> None:
    response = api.as_user("bob").patch(f"/api/mylists/{BOB_PUBLIC}/items", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == "Request data is not correct."
    assert snapshot(sync_db) == before


# ---- sharedMyLists of GET /login-info/full (spec 4.1) ------------------------------------------


def shared(api: Api, user: str) -> list[tuple[str, str]]:
    body = api.as_user(user).get("/api/login-info/full").json()
    return [(entry["owner"], entry["sharedMyList"]["myListId"]) for entry in body["sharedMyLists"]]


def test_shared_my_lists_follow_the_editors_set_through_the_api(api: Api) -> None:
    assert shared(api, "carol") == []
    assert shared(api, "frank") == []
    editors = [{"type": "user", "userEmail": "carol@example.com"}, {"type": "group", "groupId": 5}]
    assert api.as_user("bob").patch(f"/api/mylists/{BOB_PRIVATE}", json={"editors": editors}).status_code == 204

    assert shared(api, "carol") == [("bob@example.com", BOB_PRIVATE)]
    assert shared(api, "frank") == [("bob@example.com", BOB_PRIVATE)]
    assert shared(api, "guest") == []
    entry = api.as_user("carol").get("/api/login-info/full").json()["sharedMyLists"][0]["sharedMyList"]
    assert entry["editors"] == editors

    assert api.as_user("bob").delete(f"/api/mylists/{BOB_PRIVATE}").status_code == 204
    assert shared(api, "carol") == []


# ---- concurrency (spec 5.8): thirty parallel creations by one user all succeed ------------------


@pytest.fixture
def live_server(app_settings: Settings, sync_db: Database) -> Iterator[str]:
    """The app on a real uvicorn server (TestClient runs one request at a time)."""
    load_fixtures(sync_db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(app_settings), port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.mark.slow
def test_thirty_parallel_creations_by_one_user_all_persist(live_server: str, sync_db: Database) -> None:
    async def create_all() -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {TOKENS['bob']}"}
        async with httpx.AsyncClient(base_url=live_server, headers=headers, timeout=60) as client:
            return await asyncio.gather(*(
                client.post("/mylists", json={"name": f"list {n}", "resourceType": "series", "public": False})
                for n in range(30)
            ))

    responses = asyncio.run(create_all())
    assert [r.status_code for r in responses] == [201] * 30
    created = {r.json()["myListId"] for r in responses}
    assert len(created) == 30
    bob = sync_db.users.find_one({"userEmail": "bob@example.com"})
    assert bob is not None
    lists = {entry["myListId"]: entry["name"] for entry in bob["myLists"]}
    assert len(lists) == 4 + 30
    assert created <= set(lists)
    assert sorted(lists[i] for i in created) == sorted(f"list {n}" for n in range(30))
    assert sync_db.myLists.count_documents({"myListId": {"$in": list(created)}}) == 30
