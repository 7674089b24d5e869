"""The shared my-list search (spec 3.5): the list check and the pipeline that starts from `myLists`,
for each resource type (series, cases, plug-in jobs), on SecantusDB."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.errors import BadRequest, NotFound
from circus_api.search import (
    MY_LIST_SORT,
    SearchRequest,
    SearchSpec,
    for_my_list,
    my_list_stages,
    own_my_list,
    run_my_list_search,
)

T0 = dt.datetime(2021, 1, 1)


def day(n: int) -> dt.datetime:
    return T0 + dt.timedelta(days=n)


def my_list(my_list_id: str, resource_type: str) -> dict[str, Any]:
    return {"myListId": my_list_id, "resourceType": resource_type, "name": my_list_id, "public": True,
            "editors": [], "createdAt": T0}


async def seed(db: AsyncDatabase) -> None:
    await db.users.insert_many([
        {"userEmail": "owner@example.com",
         "myLists": [my_list("series-list", "series"), my_list("case-list", "clinicalCases"),
                     my_list("job-list", "pluginJobs")]},
        {"userEmail": "other@example.com", "myLists": [my_list("others-list", "series")]},
    ])
    await db.myLists.insert_many([
        {"myListId": "series-list", "items": [
            {"resourceId": "1.1", "createdAt": day(2)}, {"resourceId": "1.2", "createdAt": day(3)},
            {"resourceId": "1.9", "createdAt": day(4)},  # no such series
            {"resourceId": "1.3", "createdAt": day(1)},
        ]},
        {"myListId": "case-list", "items": [
            {"resourceId": "c2", "createdAt": day(5)}, {"resourceId": "c1", "createdAt": day(6)},
            {"resourceId": "c3", "createdAt": day(7)},
        ]},
        {"myListId": "job-list", "items": [{"resourceId": f"j{n}", "createdAt": day(n)} for n in range(5)]},
        {"myListId": "others-list", "items": [{"resourceId": "1.1", "createdAt": day(1)}]},
    ])
    await db.series.insert_many([
        {"seriesUid": "1.1", "domain": "a", "modality": "CT", "createdAt": day(30)},
        {"seriesUid": "1.2", "domain": "b", "modality": "MR", "createdAt": day(20)},
        {"seriesUid": "1.3", "domain": "a", "modality": "MR", "createdAt": day(10)},
    ])
    await db.clinicalCases.insert_many([
        {"caseId": f"c{n}", "projectId": "p1" if n < 3 else "p2",
         "revisions": [{"series": [{"seriesUid": "1.1"}]}], "createdAt": day(40 + n)}
        for n in (1, 2, 3)
    ])
    await db.pluginJobs.insert_many([{"jobId": f"j{n}", "pluginId": "x", "createdAt": day(50 + n)} for n in range(5)])


def request(filter: dict[str, Any] | None = None, sort: list[tuple[str, int]] | None = None,
            limit: int = 20, page: int = 1) -> SearchRequest:
    return SearchRequest(filter or {}, sort or list(MY_LIST_SORT), limit, page)


async def test_only_the_callers_own_list_of_the_right_type_is_accepted(db: AsyncDatabase) -> None:
    await seed(db)
    assert await own_my_list(db, "owner@example.com", "series-list", "series") == "series-list"
    assert await own_my_list(db, "owner@example.com", "case-list", "clinicalCases") == "case-list"
    assert await own_my_list(db, "owner@example.com", "job-list", "pluginJobs") == "job-list"
    for user, list_id in (("owner@example.com", "others-list"), ("owner@example.com", "nothing"),
                          ("nobody@example.com", "series-list")):
        with pytest.raises(NotFound) as missing:
            await own_my_list(db, user, list_id, "series")
        assert missing.value.message == "This my list does not exist"
    for list_id, resource_type, message in (
        ("case-list", "series", "This my list is not for series"),
        ("series-list", "clinicalCases", "This my list is not for cases"),
        ("series-list", "pluginJobs", "This my list is not for plugin jobs"),
    ):
        with pytest.raises(BadRequest) as wrong:
            await own_my_list(db, "owner@example.com", list_id, resource_type)
        assert wrong.value.message == message


async def test_series_items_come_newest_addition_first_without_the_helper_field(db: AsyncDatabase) -> None:
    await seed(db)
    body = await run_my_list_search(db, "series-list", "series", request(), [])
    assert [item["seriesUid"] for item in body["items"]] == ["1.2", "1.1", "1.3"]  # 1.9 is gone
    assert body["totalItems"] == 3
    assert all("addedToListAt" not in item and "_id" not in item for item in body["items"])
    # the access filter and the user's filter apply to the resource documents
    body = await run_my_list_search(db, "series-list", "series", request({"modality": "MR"}), [],
                                    access_filter={"domain": {"$in": ["a"]}})
    assert [item["seriesUid"] for item in body["items"]] == ["1.3"]
    by_creation = await run_my_list_search(db, "series-list", "series", request(sort=[("createdAt", -1)]), [])
    assert [item["seriesUid"] for item in by_creation["items"]] == ["1.1", "1.2", "1.3"]


async def test_cases_go_through_the_same_join_stages_and_shaping(db: AsyncDatabase) -> None:
    await seed(db)
    # the shape of a case search: a join through an array, done with $unwind first (SecantusDB)
    join = [
        {"$unwind": {"path": "$revisions"}},
        {"$unwind": {"path": "$revisions.series"}},
        {"$lookup": {"from": "series", "localField": "revisions.series.seriesUid", "foreignField": "seriesUid",
                     "as": "joined"}},
        {"$addFields": {"modality": {"$first": {"$map": {"input": "$joined", "as": "s", "in": "$$s.modality"}}}}},
    ]
    body = await run_my_list_search(
        db, "case-list", "clinicalCases", request(), join, access_filter={"projectId": {"$in": ["p1"]}},
        remove_fields=["revisions", "joined"], shape=lambda item: {**item, "shaped": True},
    )
    assert body == {
        "items": [
            {"caseId": "c1", "projectId": "p1", "createdAt": day(41), "modality": "CT", "shaped": True},
            {"caseId": "c2", "projectId": "p1", "createdAt": day(42), "modality": "CT", "shaped": True},
        ],
        "totalItems": 2,
        "page": 1,
    }


async def test_plugin_jobs_with_pre_stages_paging_and_a_count_cap(db: AsyncDatabase) -> None:
    await seed(db)
    body = await run_my_list_search(
        db, "job-list", "pluginJobs", request(limit=2, page=2), [], count_cap=4,
        pre_stages=[{"$match": {"pluginId": {"$in": ["x"]}}}],
    )
    assert [item["jobId"] for item in body["items"]] == ["j2", "j1"]
    assert body["totalItems"] == 4
    nothing = await run_my_list_search(db, "job-list", "pluginJobs", request(), [],
                                       pre_stages=[{"$match": {"pluginId": "y"}}])
    assert nothing == {"items": [], "totalItems": 0, "page": 1}


async def test_an_empty_or_missing_item_document_gives_no_items(db: AsyncDatabase) -> None:
    await seed(db)
    await db.myLists.update_one({"myListId": "series-list"}, {"$set": {"items": []}})
    assert await run_my_list_search(db, "series-list", "series", request(), []) == {
        "items": [], "totalItems": 0, "page": 1
    }
    await db.myLists.delete_one({"myListId": "series-list"})
    assert (await run_my_list_search(db, "series-list", "series", request(), []))["totalItems"] == 0


def test_the_my_list_spec_only_changes_the_default_sort() -> None:
    spec = SearchSpec(frozenset({"modality"}), (("createdAt", -1),))
    assert for_my_list(spec) == SearchSpec(frozenset({"modality"}), (("addedToListAt", -1),))
    assert my_list_stages("L", "series")[0] == {"$match": {"myListId": "L"}}
    assert my_list_stages("L", "clinicalCases")[2]["$lookup"]["foreignField"] == "caseId"
    assert my_list_stages("L", "pluginJobs")[2]["$lookup"]["from"] == "pluginJobs"
