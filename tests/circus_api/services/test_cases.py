"""Case rules under concurrency and inside transactions (spec 4.6, 5.8), called directly."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import DirectoryBlobStore
from circus_api.errors import BadRequest, NotFound
from circus_api.privileges import Privileges, compute_privileges
from circus_api.services import cases
from circus_api.settings import Settings
from tests.circus_fixtures import COLLECTIONS, fixture_documents

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
VEGA_236 = "111.222.333.444.777"
CASE = "faeb503e97f918c882453fd2d789f50f4250267740a0b3fbcc85a529f2d7715b"


@pytest.fixture
async def fixtures_db(db: AsyncDatabase) -> AsyncDatabase:
    for name in COLLECTIONS:
        docs = fixture_documents(name)
        if docs:
            await db[name].insert_many(docs)
    return db


async def privileges_of(db: AsyncDatabase, email: str) -> Privileges:
    user = await db.users.find_one({"userEmail": email})
    assert user is not None
    return await compute_privileges(db, user)


def new_revision(n: int) -> dict[str, Any]:
    return {"description": f"revision {n}", "attributes": {}, "status": "draft",
            "series": [{"seriesUid": VEGA_236, "labels": []}]}


async def test_ten_parallel_revisions_all_persist(fixtures_db: AsyncDatabase, settings: Settings) -> None:
    blobs = DirectoryBlobStore(settings.blob_dir)
    await asyncio.gather(
        *(cases.add_revision(fixtures_db, blobs, CASE, "bob@example.com", new_revision(n)) for n in range(10))
    )
    case = await fixtures_db.clinicalCases.find_one({"caseId": CASE})
    assert case is not None
    assert sorted(r["description"] for r in case["revisions"][1:]) == sorted(f"revision {n}" for n in range(10))
    assert case["latestRevision"] == case["revisions"][-1]


async def test_a_series_deleted_while_a_case_is_created_is_never_referenced(
    fixtures_db: AsyncDatabase, settings: Settings
) -> None:
    # Given a transaction that has deleted the series but not yet committed
    privileges = await privileges_of(fixtures_db, "bob@example.com")
    body = {"projectId": LUNG, "series": [{"seriesUid": VEGA_236,
                                          "partialVolumeDescriptor": {"start": 1, "end": 2, "delta": 1}}], "tags": []}
    client = fixtures_db.client
    async with client.start_session() as session, await session.start_transaction():
        await fixtures_db.series.delete_one({"seriesUid": VEGA_236}, session=session)
        # When a case on that series is created meanwhile
        creation = asyncio.create_task(cases.create(fixtures_db, settings, "bob@example.com", privileges, body))
        await asyncio.sleep(0.3)
    # Then its pseudo-lock conflicts with the deletion, and the retry no longer finds the series
    with pytest.raises(BadRequest, match=re.escape("Nonexistent series.")):
        await creation
    assert await fixtures_db.clinicalCases.count_documents({"revisions.series.seriesUid": VEGA_236}) == 0


async def test_a_failed_forced_deletion_leaves_the_my_lists_alone(fixtures_db: AsyncDatabase) -> None:
    # a my list naming a case that is gone: the forced deletion removes the items, then fails
    await fixtures_db.myLists.update_one(
        {"myListId": "01ex36f2n99kjaqvpfrerrsryp"}, {"$push": {"items": {"resourceId": "ghost"}}}
    )
    with pytest.raises(NotFound, match=re.escape("This case does not exist.")):
        await cases.delete(fixtures_db, "ghost", True, 10_000)
    assert await fixtures_db.myLists.count_documents({"items.resourceId": "ghost"}) == 1


async def test_register_finds_the_project_by_exact_name(fixtures_db: AsyncDatabase, settings: Settings) -> None:
    privileges = await privileges_of(fixtures_db, "bob@example.com")
    entries = [{"seriesUid": VEGA_236, "partialVolumeDescriptor": None}]
    case_id = await cases.register(fixtures_db, settings, "bob@example.com", privileges, "Lung nodules", entries, [])
    case = await fixtures_db.clinicalCases.find_one({"caseId": case_id})
    assert case is not None
    assert case["projectId"] == LUNG
    with pytest.raises(NotFound, match=re.escape("Specified project does not exist.")):
        await cases.register(fixtures_db, settings, "bob@example.com", privileges, "lung nodules", entries, [])
