"""Indexes of spec 6.15 plus the ones the re-implementation adds; created idempotently.

`create_index` with an existing identical spec is a no-op, so this is safe on an existing CIRCUS
database and is run by `circus migrate` and at server start-up.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

IndexSpec = tuple[str, list[tuple[str, int]], dict[str, Any]]

INDEXES: list[IndexSpec] = [
    ("groups", [("groupId", ASCENDING)], {"unique": True}),
    ("users", [("userEmail", ASCENDING)], {"unique": True}),
    ("users", [("loginId", ASCENDING)], {"unique": True}),
    ("users", [("myLists.myListId", ASCENDING)], {}),
    ("users", [("myLists.editors.userEmail", ASCENDING)], {}),
    ("users", [("myLists.editors.groupId", ASCENDING)], {}),
    ("projects", [("projectId", ASCENDING)], {"unique": True}),
    ("series", [("seriesUid", ASCENDING)], {"unique": True}),
    ("series", [("patientInfo.patientId", ASCENDING)], {}),
    ("series", [("patientInfo.patientName", ASCENDING)], {}),
    ("series", [("createdAt", DESCENDING)], {}),
    ("series", [("domain", ASCENDING), ("createdAt", DESCENDING)], {}),
    ("clinicalCases", [("caseId", ASCENDING)], {"unique": True}),
    ("clinicalCases", [("projectId", ASCENDING), ("createdAt", DESCENDING)], {}),
    ("clinicalCases", [("createdAt", DESCENDING)], {}),
    ("clinicalCases", [("revisions.series.seriesUid", ASCENDING)], {}),
    ("pluginDefinitions", [("pluginId", ASCENDING)], {"unique": True}),
    ("pluginJobs", [("jobId", ASCENDING)], {"unique": True}),
    ("pluginJobs", [("createdAt", ASCENDING)], {}),
    ("pluginJobs", [("pluginId", ASCENDING)], {}),
    ("pluginJobs", [("series.seriesUid", ASCENDING)], {}),
    ("pluginJobQueue", [("jobId", ASCENDING)], {"unique": True}),
    ("pluginJobQueue", [("state", ASCENDING), ("priority", DESCENDING), ("_id", ASCENDING)], {}),
    ("pluginJobEvents", [("jobId", ASCENDING), ("seq", ASCENDING)], {"unique": True}),
    ("pluginJobEvents", [("createdAt", ASCENDING)], {"expireAfterSeconds": 7 * 24 * 3600}),
    ("pluginJobManager", [("key", ASCENDING)], {"unique": True}),
    ("myLists", [("myListId", ASCENDING)], {"unique": True}),
    ("myLists", [("items.resourceId", ASCENDING)], {}),
    ("tokens", [("accessToken", ASCENDING)], {"unique": True}),
    ("tokens", [("refreshToken", ASCENDING)], {}),
    ("tokens", [("userId", ASCENDING)], {}),
    ("tokens", [("permanentTokenId", ASCENDING)], {}),
    ("tasks", [("taskId", ASCENDING)], {"unique": True}),
    ("tasks", [("userEmail", ASCENDING), ("createdAt", DESCENDING)], {}),
    ("serverParams", [("key", ASCENDING)], {"unique": True}),
    ("onetimeUrls", [("onetimeUrlId", ASCENDING), ("onetimeString", ASCENDING)], {"unique": True}),
    ("onetimeUrls", [("createdAt", ASCENDING)], {"expireAfterSeconds": 60}),
    ("sequences", [("key", ASCENDING)], {"unique": True}),
]


async def ensure_indexes(db: AsyncDatabase) -> list[str]:
    """Create every index; returns problems (e.g. duplicates blocking a unique index) as text.

    One `createIndexes` command per collection; when it fails, the indexes are retried one by one
    so that a single blocked index does not keep the others from being created.
    """
    problems: list[str] = []
    by_collection: dict[str, list[IndexModel]] = {}
    for collection, keys, options in INDEXES:
        by_collection.setdefault(collection, []).append(IndexModel(keys, **options))
    for collection, models in by_collection.items():
        try:
            await db[collection].create_indexes(models)
            continue
        except OperationFailure:
            pass
        for model in models:
            try:
                await db[collection].create_indexes([model])
            except OperationFailure as exc:
                message = exc.details.get("errmsg") if exc.details else exc
                problems.append(f"{collection} {model.document['key']}: {message}")
    return problems
