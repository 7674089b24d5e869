"""The pluginJobQueue accessor: order, atomic claims, leases, attempts, settle and cancel."""

from __future__ import annotations

import asyncio

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db import plugin_jobs
from circus_api.db.indexes import ensure_indexes
from circus_api.db.transactions import with_transaction
from job_manager import events, queue
from tests.job_manager.conftest import job_document, plugin_document

PAYLOAD = {"pluginId": "p" * 64, "series": []}


async def fill(db: AsyncDatabase, priorities: list[int]) -> list[str]:
    await ensure_indexes(db)
    ids = [f"job{i:02d}" for i in range(len(priorities))]
    for job_id, priority in zip(ids, priorities, strict=True):
        await queue.enqueue(db, job_id, PAYLOAD, priority)
    return ids


async def test_enqueued_rows_look_like_circus_ones_plus_the_lease_fields(db: AsyncDatabase) -> None:
    await fill(db, [0])
    row = await queue.find(db, "job00")
    assert row is not None
    assert row["state"] == "wait" and row["priority"] == 0 and row["payload"] == PAYLOAD
    assert row["startedAt"] is None and row["createdAt"] == row["updatedAt"]
    assert row["owner"] is None and row["leaseUntil"] is None and row["attempts"] == 0
    assert row["needsGpu"] is False


async def test_a_duplicate_job_id_is_refused_by_the_unique_index(db: AsyncDatabase) -> None:
    await fill(db, [0])
    with pytest.raises(DuplicateKeyError):
        await queue.enqueue(db, "job00", PAYLOAD)


async def test_higher_priority_first_then_first_in_first_out(db: AsyncDatabase) -> None:
    ids = await fill(db, [0, 1, 0, -1, 1])
    expected = [ids[1], ids[4], ids[0], ids[2], ids[3]]
    assert [row["jobId"] for row in await queue.list_queue(db)] == expected
    claimed = []
    while (row := await queue.claim(db, "m1", 30)) is not None:
        claimed.append(row["jobId"])
    assert claimed == expected


async def test_list_filters_by_state_and_defaults_to_wait(db: AsyncDatabase) -> None:
    ids = await fill(db, [0, 0, 0])
    await queue.claim(db, "m1", 30)
    assert [r["jobId"] for r in await queue.list_queue(db)] == ids[1:]
    assert [r["jobId"] for r in await queue.list_queue(db, "processing")] == ids[:1]
    assert [r["jobId"] for r in await queue.list_queue(db, "all")] == ids
    assert [r["jobId"] for r in await queue.list_queue(db, "all", skip=1, limit=1)] == ids[1:2]
    assert await queue.count(db, "wait") == 2 and await queue.count(db, "all") == 3


async def test_a_claim_sets_owner_lease_start_and_counts_the_attempt(db: AsyncDatabase) -> None:
    await fill(db, [0])
    row = await queue.claim(db, "m1", 30)
    assert row is not None
    assert row["state"] == "processing" and row["owner"] == "m1" and row["attempts"] == 1
    assert row["startedAt"] is not None
    assert 29 <= (row["leaseUntil"] - row["startedAt"]).total_seconds() <= 30
    assert await queue.claim(db, "m2", 30) is None


async def test_four_concurrent_claimers_never_take_the_same_row(db: AsyncDatabase, mongo_url: str) -> None:
    ids = await fill(db, [i % 3 for i in range(50)])
    clients = [AsyncMongoClient(mongo_url, timeoutMS=30_000) for _ in range(4)]

    async def claimer(n: int) -> list[str]:
        own_db = clients[n][db.name]
        taken = []
        while (row := await queue.claim(own_db, f"m{n}", 30)) is not None:
            taken.append(row["jobId"])
        return taken

    try:
        results = await asyncio.gather(*(claimer(n) for n in range(4)))
    finally:
        for client in clients:
            await client.close()
    everything = [job_id for taken in results for job_id in taken]
    assert sorted(everything) == sorted(ids)  # all 50, none twice
    assert sum(1 for taken in results if taken) >= 2  # they really competed


async def test_an_expired_lease_is_claimed_again_by_another_manager(db: AsyncDatabase) -> None:
    await fill(db, [0])
    first = await queue.claim(db, "dead", 0.2)
    assert first is not None
    assert await queue.claim(db, "m2", 30) is None  # lease still valid
    await asyncio.sleep(0.3)
    second = await queue.claim(db, "m2", 30)
    assert second is not None and second["jobId"] == first["jobId"]
    assert second["owner"] == "m2" and second["attempts"] == 2
    # the dead manager lost it: no heartbeat, no settle
    assert await queue.heartbeat(db, "job00", "dead", 30) is False
    assert await queue.settle(db, "job00", "dead") is False
    assert await queue.heartbeat(db, "job00", "m2", 30) is True
    assert await queue.settle(db, "job00", "m2") is True
    assert await queue.find(db, "job00") is None


async def test_a_heartbeat_keeps_the_lease_alive(db: AsyncDatabase) -> None:
    await fill(db, [0])
    await queue.claim(db, "m1", 0.3)
    for _ in range(3):
        await asyncio.sleep(0.15)
        assert await queue.heartbeat(db, "job00", "m1", 0.3)
    assert await queue.claim(db, "m2", 30) is None


async def test_after_max_attempts_the_job_fails_with_the_reason_and_leaves_the_queue(db: AsyncDatabase) -> None:
    await fill(db, [0, 0])
    await db[plugin_jobs.COLLECTION].insert_one(job_document("job00", "p" * 64, "1.2.3"))
    for attempt in (1, 2):
        row = await queue.claim(db, f"crashing{attempt}", 0.05, max_attempts=2)
        assert row is not None and row["jobId"] == "job00" and row["attempts"] == attempt
        await asyncio.sleep(0.1)
    # the third claim gives job00 up and goes on with the next row
    row = await queue.claim(db, "m3", 30, max_attempts=2)
    assert row is not None and row["jobId"] == "job01"
    assert await queue.find(db, "job00") is None
    job = await plugin_jobs.find(db, "job00")
    assert job is not None
    assert job["status"] == "failed"
    assert job["errorMessage"] == "The job manager running this job stopped 2 times; giving up."
    assert job["finishedAt"] is None
    [event] = await events.events_since(db, "job00")
    assert event["kind"] == "status" and event["data"]["status"] == "failed"


async def test_settle_removes_only_the_owners_processing_row(db: AsyncDatabase) -> None:
    await fill(db, [0])
    assert await queue.settle(db, "job00", "m1") is False  # not started yet
    await queue.claim(db, "m1", 30)
    assert await queue.settle(db, "job00", "m2") is False
    assert await queue.settle(db, "job00", "m1") is True
    assert await queue.count(db, "all") == 0


async def test_cancel_removes_only_a_waiting_row(db: AsyncDatabase) -> None:
    await fill(db, [0, 0])
    assert await queue.remove_waiting(db, "job00") is True
    assert await queue.remove_waiting(db, "job00") is False
    await queue.claim(db, "m1", 30)
    assert await queue.remove_waiting(db, "job01") is False  # already being processed
    assert (await queue.find(db, "job01") or {}).get("state") == "processing"


async def test_a_released_row_waits_again_without_using_up_an_attempt(db: AsyncDatabase) -> None:
    await fill(db, [0])
    await queue.claim(db, "m1", 30)
    assert await queue.release(db, "job00", "m2") is False
    assert await queue.release(db, "job00", "m1") is True
    row = await queue.find(db, "job00")
    assert row is not None
    assert (row["state"], row["owner"], row["leaseUntil"], row["attempts"]) == ("wait", None, None, 0)
    await queue.claim(db, "m2", 30)
    assert await queue.release(db, "job00", "m2", count_attempt=True)
    assert (await queue.find(db, "job00") or {})["attempts"] == 1


async def test_gpu_jobs_are_claimed_only_into_gpu_slots(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    await db["pluginDefinitions"].insert_many([plugin_document("g" * 64, gpus="all"), plugin_document("c" * 64)])
    await queue.enqueue(db, "gpujob", {"pluginId": "g" * 64, "series": []}, priority=5)
    await queue.enqueue(db, "cpujob", {"pluginId": "c" * 64, "series": []})
    assert (await queue.find(db, "gpujob") or {})["needsGpu"] is True
    row = await queue.claim(db, "m1", 30, gpu_ok=False)
    assert row is not None and row["jobId"] == "cpujob"
    assert await queue.claim(db, "m1", 30, gpu_ok=False) is None
    row = await queue.claim(db, "m1", 30, gpu_ok=True, gpu_only=True)
    assert row is not None and row["jobId"] == "gpujob"


async def test_enqueue_joins_the_callers_transaction(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    await db[plugin_jobs.COLLECTION].create_index("jobId", unique=True)

    async def register(session: object) -> None:
        await db[plugin_jobs.COLLECTION].insert_one(job_document("tx1", "p" * 64, "1.2.3"), session=session)
        await queue.enqueue(db, "tx1", PAYLOAD, 0, session=session)  # type: ignore[arg-type]

    await with_transaction(db.client, register)  # type: ignore[arg-type]
    assert await queue.find(db, "tx1") is not None and await plugin_jobs.find(db, "tx1") is not None

    async def register_then_fail(session: object) -> None:
        await queue.enqueue(db, "tx2", PAYLOAD, 0, session=session)  # type: ignore[arg-type]
        raise RuntimeError("the job document could not be inserted")

    with pytest.raises(RuntimeError):
        await with_transaction(db.client, register_then_fail)  # type: ignore[arg-type]
    assert await queue.find(db, "tx2") is None  # no orphan row (CIRCUS's race, spec 2.2)
