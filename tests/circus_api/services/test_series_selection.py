"""Resolving and checking the series entries of a new case or job (shared by cases and jobs)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import stamped
from circus_api.errors import BadRequest, CircusError
from circus_api.services import series_selection
from circus_api.services.series_selection import CASE_RULES, JOB_RULES


@pytest.fixture
async def series_db(db: AsyncDatabase) -> AsyncDatabase:
    await db.series.insert_many([
        stamped({"seriesUid": "1.1", "images": "1-3,5-9", "domain": "a"}),
        stamped({"seriesUid": "1.2", "images": "1-10", "domain": "b"}),
        stamped({"seriesUid": "1.3", "images": "", "domain": "a"}),
    ])
    return db


def entry(uid: str, pvd: Any) -> dict[str, Any]:
    return {"seriesUid": uid, "partialVolumeDescriptor": pvd}


async def test_no_descriptor_means_the_first_image_segment_ascending(series_db: AsyncDatabase, tmp_path: Path) -> None:
    resolved = await series_selection.resolve_descriptors(series_db, tmp_path, [entry("1.1", None)], CASE_RULES)
    assert resolved == [entry("1.1", {"start": 1, "end": 3, "delta": 1})]


async def test_explicit_descriptors_pass_through(series_db: AsyncDatabase, tmp_path: Path) -> None:
    given = [entry("9.9", {"start": 1, "end": 2})]
    assert await series_selection.resolve_descriptors(series_db, tmp_path, given, CASE_RULES) == given


async def test_an_unknown_series_takes_the_status_of_the_rules(series_db: AsyncDatabase, tmp_path: Path) -> None:
    rules = series_selection.SelectionRules(unknown_series_status=400)
    with pytest.raises(CircusError) as caught:
        await series_selection.resolve_descriptors(series_db, tmp_path, [entry("9.9", "auto")], rules)
    assert (caught.value.status_code, caught.value.message) == (400, "This series does not exist.")


async def test_a_series_without_images_has_no_default(series_db: AsyncDatabase, tmp_path: Path) -> None:
    with pytest.raises(BadRequest, match=re.escape("series 1.3: empty series")):
        await series_selection.resolve_descriptors(series_db, tmp_path, [entry("1.3", None)], CASE_RULES)


def test_descriptors_are_shown_as_javascript_prints_them() -> None:
    assert series_selection.descriptor_json({"start": 1.0, "end": 2.5, "delta": 1}) == '{"start":1,"end":2.5,"delta":1}'
    assert series_selection.descriptor_json(None) == "null"
    with pytest.raises(CircusError, match=re.escape('Invalid partial volume descriptor: "x"')):
        series_selection.check_descriptors([entry("1.1", "x")])


async def check(db: AsyncDatabase, entries: list[dict[str, Any]], domains: list[str], rules: Any) -> str:
    async with db.client.start_session() as session, await session.start_transaction():
        return await series_selection.check_series(db, entries, domains, rules, session)


async def test_a_step_must_visit_existing_images_only(series_db: AsyncDatabase) -> None:
    assert await check(series_db, [entry("1.1", {"start": 1, "end": 9, "delta": 2})], ["a"], CASE_RULES) == "a"
    with pytest.raises(BadRequest, match=re.escape("Specified range is invalid.")):
        await check(series_db, [entry("1.1", {"start": 1, "end": 5, "delta": 1})], ["a"], CASE_RULES)


async def test_cases_check_domains_after_every_series_and_jobs_within_the_loop(series_db: AsyncDatabase) -> None:
    entries = [entry("1.2", {"start": 1, "end": 2, "delta": 1}), entry("9.9", {"start": 1, "end": 2, "delta": 1})]
    with pytest.raises(BadRequest, match=re.escape("Nonexistent series.")):
        await check(series_db, entries, ["a"], CASE_RULES)
    with pytest.raises(CircusError) as caught:
        await check(series_db, entries, ["a"], JOB_RULES)
    assert (caught.value.status_code, caught.value.message) == (400, "You cannot access this series.")


async def test_a_corrupt_image_range_fits_nothing(series_db: AsyncDatabase) -> None:
    await series_db.series.update_one({"seriesUid": "1.2"}, {"$set": {"images": "1-x"}})
    with pytest.raises(BadRequest, match=re.escape("Specified range is invalid.")):
        await check(series_db, [entry("1.2", {"start": 1, "end": 2, "delta": 1})], ["b"], CASE_RULES)
