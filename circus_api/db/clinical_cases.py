"""The `clinicalCases` collection (spec 6.5), keyed by `caseId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "clinicalCases"


async def find(db: AsyncDatabase, case_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"caseId": case_id}, NO_ID)


async def references_series(db: AsyncDatabase, series_uid: str, session: AsyncClientSession | None = None) -> bool:
    """Whether any revision of any case lists the series (not only the latest one)."""
    found = await db[COLLECTION].find_one({"revisions.series.seriesUid": series_uid}, {"_id": 1}, session=session)
    return found is not None


async def insert(db: AsyncDatabase, case: dict[str, Any], session: AsyncClientSession) -> None:
    # created when its first revision was
    await db[COLLECTION].insert_one(stamped(case, case["latestRevision"]["date"]), session=session)


async def append_revision(db: AsyncDatabase, case_id: str, revision: dict[str, Any]) -> bool:
    """Append a revision and make it `latestRevision` in one atomic update, so concurrent writers
    never lose a revision and `latestRevision` always equals the last element; False when no case."""
    result = await db[COLLECTION].update_one(
        {"caseId": case_id},
        {"$push": {"revisions": revision}, "$set": {"latestRevision": revision, "updatedAt": utcnow()}},
    )
    return result.matched_count > 0


async def set_tags(db: AsyncDatabase, case_id: str, tags: list[str]) -> bool:
    result = await db[COLLECTION].update_one({"caseId": case_id}, {"$set": {"tags": tags, "updatedAt": utcnow()}})
    return result.matched_count > 0


async def project_ids_of(db: AsyncDatabase, case_ids: list[str]) -> dict[str, str]:
    """caseId -> projectId for those of `case_ids` that exist."""
    cursor = db[COLLECTION].find({"caseId": {"$in": case_ids}}, {"_id": 0, "caseId": 1, "projectId": 1})
    return {doc["caseId"]: doc["projectId"] for doc in await cursor.to_list()}


async def change_tags(db: AsyncDatabase, case_ids: list[str], operation: str, tags: list[str]) -> None:
    """The bulk tag edit (`add`, `remove` or `set`); leaves `updatedAt` alone as CIRCUS does."""
    update: dict[str, Any]
    if operation == "add":
        update = {"$addToSet": {"tags": {"$each": tags}}}
    elif operation == "remove":
        update = {"$pull": {"tags": {"$in": tags}}}
    else:
        update = {"$set": {"tags": tags}}
    await db[COLLECTION].update_many({"caseId": {"$in": case_ids}}, update)


async def delete(db: AsyncDatabase, case_id: str, session: AsyncClientSession) -> bool:
    result = await db[COLLECTION].delete_one({"caseId": case_id}, session=session)
    return result.deleted_count > 0
