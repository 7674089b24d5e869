"""My-list rules under concurrency (spec 4.8, 5.8), called directly on one AsyncMongoClient."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from circus_api.db.documents import stamped
from circus_api.db.transactions import lock
from circus_api.errors import NotFound
from circus_api.services import my_lists
from tests.circus_fixtures import fixture_documents

BOB = "bob@example.com"


@pytest.fixture
async def users_db(db: AsyncDatabase) -> AsyncDatabase:
    await db.users.insert_many(fixture_documents("users"))
    await db.groups.insert_many(fixture_documents("groups"))
    return db


async def bob_lists(db: AsyncDatabase) -> list[dict[str, Any]]:
    bob = await db.users.find_one({"userEmail": BOB})
    assert bob is not None
    return list(bob["myLists"])


async def test_thirty_parallel_creations_by_one_user_all_persist(users_db: AsyncDatabase) -> None:
    before = len(await bob_lists(users_db))
    created = await asyncio.gather(
        *(my_lists.create(users_db, BOB, f"list {n}", "series", False) for n in range(30))
    )
    assert len(set(created)) == 30
    lists = await bob_lists(users_db)
    assert len(lists) == before + 30
    assert {entry["myListId"] for entry in lists} >= set(created)
    assert await users_db.myLists.count_documents({"myListId": {"$in": created}}) == 30


async def test_thirty_parallel_item_additions_to_one_list_all_persist(users_db: AsyncDatabase) -> None:
    uids = [f"1.2.3.{n}" for n in range(30)]
    await users_db.series.insert_many([stamped({"seriesUid": uid, "domain": "vega.org"}) for uid in uids])
    my_list_id = await my_lists.create(users_db, BOB, "parallel", "series", False)
    results = await asyncio.gather(
        *(my_lists.change_items(users_db, BOB, [2], my_list_id, "add", [uid]) for uid in uids)
    )
    assert results == [{"changedCount": 1}] * 30
    doc = await users_db.myLists.find_one({"myListId": my_list_id})
    assert doc is not None
    assert sorted(item["resourceId"] for item in doc["items"]) == sorted(uids)
    assert await users_db.series.count_documents({"myLock": {"$exists": True}}) == 0


async def test_parallel_renames_and_deletion_leave_both_halves_consistent(users_db: AsyncDatabase) -> None:
    my_list_id = await my_lists.create(users_db, BOB, "doomed", "series", False)

    async def rename(n: int) -> None:
        with contextlib.suppress(NotFound):  # the deletion won the race; the list is gone as a whole
            await my_lists.update(users_db, BOB, my_list_id, {"name": f"name {n}"})

    await asyncio.gather(*(rename(n) for n in range(10)), my_lists.delete(users_db, BOB, my_list_id))
    assert my_list_id not in [entry["myListId"] for entry in await bob_lists(users_db)]
    assert await users_db.myLists.find_one({"myListId": my_list_id}) is None


async def test_a_pseudo_lock_makes_a_second_transaction_conflict_with_a_transient_error(
    users_db: AsyncDatabase,
) -> None:
    # what SecantusDB answers (as MongoDB does): WriteConflict 112 labelled TransientTransactionError,
    # which is what makes pymongo's with_transaction retry the callback
    client = users_db.client
    async with client.start_session() as first, client.start_session() as second, await first.start_transaction():
        await lock(users_db, "users", {"userEmail": BOB}, first)
        with pytest.raises(OperationFailure) as conflict:
            async with await second.start_transaction():
                await lock(users_db, "users", {"userEmail": BOB}, second)
        assert conflict.value.code == 112
        assert conflict.value.has_error_label("TransientTransactionError")
    assert await users_db.users.count_documents({"myLock": {"$exists": True}}) == 0
