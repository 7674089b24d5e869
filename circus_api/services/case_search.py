"""Case search (spec 3.4, 4.6 #20-#21): cases joined with one of their series for patient data.

Patient information comes from the first series the join produces (over all revisions), and only
for cases of projects where the caller has both `read` and `viewPersonalInfo`; cases whose series
are all gone drop out, as in CIRCUS. The join is written the way SecantusDB and MongoDB both run
it: UIDs are collected into a flat array with `$map`/`$reduce` before the `$lookup`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import clinical_cases
from circus_api.privileges import Privileges, shows_personal_info
from circus_api.search import SearchRequest, run_my_list_search, run_pipeline_search

_UIDS, _JOINED, _FIRST = "_seriesUids", "_series", "_firstSeries"


def join_stages(viewable_project_ids: list[str]) -> list[dict[str, Any]]:
    every_series_uid = {
        "$reduce": {
            "input": "$revisions",
            "initialValue": [],
            "in": {
                "$concatArrays": ["$$value", {"$map": {"input": "$$this.series", "as": "s", "in": "$$s.seriesUid"}}]
            },
        }
    }
    return [
        {"$addFields": {_UIDS: every_series_uid}},
        {"$lookup": {"from": "series", "localField": _UIDS, "foreignField": "seriesUid", "as": _JOINED}},
        {"$match": {f"{_JOINED}.0": {"$exists": True}}},  # no series left: the case drops out
        {"$addFields": {_FIRST: {"$arrayElemAt": [f"${_JOINED}", 0]}}},
        {
            "$addFields": {
                "patientInfo": {
                    "$cond": [{"$in": ["$projectId", viewable_project_ids]}, f"${_FIRST}.patientInfo", None]
                }
            }
        },
    ]


async def search(
    db: AsyncDatabase,
    user: Mapping[str, Any],
    privileges: Privileges,
    request: SearchRequest,
    my_list_id: str | None = None,
) -> dict[str, Any]:
    access = {"projectId": {"$in": privileges.projects_with("read")}}
    join = join_stages(privileges.projects_with("read", "viewPersonalInfo"))
    remove = ["revisions", _UIDS, _JOINED, _FIRST]
    shown = shows_personal_info(dict(user), privileges)

    def shape(item: dict[str, Any]) -> dict[str, Any]:
        info = item.pop("patientInfo", None)
        if shown and info is not None:  # layer 2 of spec 2.4
            item["patientInfo"] = info
        return item

    if my_list_id is not None:
        return await run_my_list_search(db, my_list_id, "clinicalCases", request, join, access, remove, shape=shape)
    return await run_pipeline_search(db[clinical_cases.COLLECTION], request, join, access, remove, shape=shape)
