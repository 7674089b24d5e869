"""The job event stream as a service: snapshot, relay, and status taken from the job document."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.services import job_events
from circus_api.services.job_events import JobEvent
from job_manager import events
from tests.circus_fixtures import fixture_documents

JOB = "01gr80z2v58f9jytq60snybgfa"  # in_queue


@pytest.fixture
async def jobs_db(db: AsyncDatabase) -> AsyncDatabase:
    await db.pluginJobs.insert_many(fixture_documents("pluginJobs"))
    return db


async def set_status(db: AsyncDatabase, status: str, **fields: Any) -> None:
    await db.pluginJobs.update_one({"jobId": JOB}, {"$set": {"status": status, **fields}})


async def test_the_snapshot_leaves_out_progress_of_an_earlier_run(jobs_db: AsyncDatabase) -> None:
    await events.add_event(jobs_db, JOB, "status", {"status": "processing"})
    await events.add_event(jobs_db, JOB, "progress", {"progress": 0.7, "message": "first run"})
    await events.add_event(jobs_db, JOB, "status", {"status": "in_queue"})  # handed back
    await events.add_event(jobs_db, JOB, "status", {"status": "processing"})  # claimed again
    await set_status(jobs_db, "processing")
    stream = await job_events.open_stream(jobs_db, JOB, poll_interval=0.02)
    first = await anext(stream)
    assert (first.kind, first.data["status"]) == ("status", "processing")
    await events.add_event(jobs_db, JOB, "progress", {"progress": 0.1, "message": "second run"})
    second = await asyncio.wait_for(anext(stream), 5)
    assert second == JobEvent("progress", {"progress": 0.1, "message": "second run"}, 5)
    await stream.aclose()


async def test_a_change_without_an_event_is_taken_from_the_document(jobs_db: AsyncDatabase) -> None:
    stream = await job_events.open_stream(jobs_db, JOB, poll_interval=0.02, divergence_grace=0.1)
    assert (await anext(stream)).data["status"] == "in_queue"
    started = dt.datetime(2024, 1, 1, 0, 0, 0)
    await set_status(jobs_db, "processing", startedAt=started)  # its event was lost
    event = await asyncio.wait_for(anext(stream), 5)
    assert event == JobEvent("status", {"jobId": JOB, "status": "processing", "startedAt": started})
    # the late event of the same status is not repeated; the next change is relayed
    await events.add_event(jobs_db, JOB, "status", {"status": "processing"})
    await events.add_event(jobs_db, JOB, "log", {"lines": ["hello"]})
    await set_status(jobs_db, "failed", errorMessage="Boom")
    await events.add_event(jobs_db, JOB, "status", {"status": "failed", "errorMessage": "Boom"})
    rest = [e async for e in stream]
    assert rest == [
        JobEvent("log", {"lines": ["hello"]}, 2),
        JobEvent("status", {"jobId": JOB, "status": "failed", "errorMessage": "Boom", "startedAt": started}, 3),
    ]


async def test_a_deleted_job_ends_the_stream(jobs_db: AsyncDatabase) -> None:
    stream = await job_events.open_stream(jobs_db, JOB, poll_interval=0.02)
    await anext(stream)
    await jobs_db.pluginJobs.delete_one({"jobId": JOB})
    assert [e async for e in stream] == []
