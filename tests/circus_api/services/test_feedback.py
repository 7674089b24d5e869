"""Feedback rules under concurrency (spec 5.7): the conditional update lets exactly one through."""

from __future__ import annotations

import asyncio

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.errors import BadRequest
from circus_api.services import feedback
from tests.circus_fixtures import fixture_documents

JOB = "01f5dt3qn9877g072t9y7h7pjp"  # no feedback yet


@pytest.fixture
async def jobs_db(db: AsyncDatabase) -> AsyncDatabase:
    await db.pluginJobs.insert_many(fixture_documents("pluginJobs"))
    return db


async def entries(db: AsyncDatabase) -> list[dict[str, object]]:
    job = await db.pluginJobs.find_one({"jobId": JOB})
    assert job is not None
    return list(job["feedbacks"])


async def test_parallel_personal_entries_of_one_user_store_one(jobs_db: AsyncDatabase) -> None:
    results = await asyncio.gather(
        *(feedback.add_entry(jobs_db, JOB, "bob@example.com", False, {"data": n}) for n in range(20)),
        return_exceptions=True,
    )
    accepted = [r for r in results if isinstance(r, str)]
    refused = [r for r in results if isinstance(r, BadRequest)]
    assert (len(accepted), len(refused)) == (1, 19)
    assert {e.message for e in refused} == {feedback.PERSONAL_EXISTS}
    assert [e["feedbackId"] for e in await entries(jobs_db)] == accepted


async def test_parallel_consensual_entries_store_one(jobs_db: AsyncDatabase) -> None:
    users = [f"user{n}@example.com" for n in range(10)]
    results = await asyncio.gather(
        *(feedback.add_entry(jobs_db, JOB, user, True, {}) for user in users),
        *(feedback.add_entry(jobs_db, JOB, user, False, {}) for user in users),
        return_exceptions=True,
    )
    stored = await entries(jobs_db)
    assert sum(1 for e in stored if e["isConsensual"]) == 1
    assert len(stored) == sum(1 for r in results if isinstance(r, str))
    consensual_at = next(i for i, e in enumerate(stored) if e["isConsensual"])
    assert consensual_at == len(stored) - 1, "nothing may follow the consensual entry"
    assert all(isinstance(r, str | BadRequest) for r in results)


async def test_deleting_while_adding_keeps_the_rules(jobs_db: AsyncDatabase) -> None:
    await feedback.add_entry(jobs_db, JOB, "bob@example.com", False, {})
    results = await asyncio.gather(
        feedback.delete_entry(jobs_db, JOB, "all"),
        *(feedback.add_entry(jobs_db, JOB, "carol@example.com", n % 2 == 0, {}) for n in range(6)),
        return_exceptions=True,
    )
    assert all(r is None or isinstance(r, str | BadRequest) for r in results), results
    stored = await entries(jobs_db)
    assert sum(1 for e in stored if e["isConsensual"]) <= 1
    assert sum(1 for e in stored if not e["isConsensual"] and e["userEmail"] == "carol@example.com") <= 1
