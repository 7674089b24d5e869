"""Job events (for the API's SSE stream) and the job log that feeds them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.indexes import ensure_indexes
from job_manager import events
from job_manager.events import JobEvents
from job_manager.joblog import JobLog, parse_progress


async def test_events_are_numbered_per_job_and_read_back_after_a_seq(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    assert await events.add_event(db, "a", "status", {"status": "processing"}) == 1
    assert await events.add_event(db, "b", "status", {"status": "processing"}) == 1
    assert await events.add_event(db, "a", "log", {"lines": ["x"]}) == 2
    got = await events.events_since(db, "a")
    assert [(e["seq"], e["kind"]) for e in got] == [(1, "status"), (2, "log")]
    assert set(got[0]) == {"jobId", "seq", "kind", "data", "createdAt"}
    assert [e["seq"] for e in await events.events_since(db, "a", 1)] == [2]
    assert await events.events_since(db, "a", 2) == []


async def test_concurrent_writers_of_one_job_get_distinct_seqs(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    seqs = await asyncio.gather(*(events.add_event(db, "j", "log", {"lines": [str(i)]}) for i in range(10)))
    assert sorted(seqs) == list(range(1, 11))


async def test_old_events_expire_through_a_ttl_index(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    indexes = await db[events.COLLECTION].index_information()
    ttl = [info for info in indexes.values() if "expireAfterSeconds" in info]
    assert ttl and ttl[0]["expireAfterSeconds"] == 7 * 24 * 3600


async def test_progress_is_throttled_and_the_latest_value_is_never_lost(db: AsyncDatabase) -> None:
    await ensure_indexes(db)
    now = [100.0]
    writer = JobEvents(db, "j", progress_interval=0.5, clock=lambda: now[0])
    await writer.progress(0.1, "a")  # first: at once
    await writer.progress(0.2, "b")  # within the interval: pending
    await writer.progress(0.3, "c")  # replaces the pending one
    await writer.flush(due_only=True)  # not due yet
    assert len(await events.events_since(db, "j")) == 1
    now[0] += 0.6
    await writer.flush(due_only=True)
    await writer.progress(0.4, None)  # pending again
    await writer.status("finished")  # a status flushes the pending progress first
    got = [(e["kind"], e["data"]) for e in await events.events_since(db, "j")]
    assert got == [
        ("progress", {"progress": 0.1, "message": "a"}),
        ("progress", {"progress": 0.3, "message": "c"}),
        ("progress", {"progress": 0.4, "message": None}),
        ("status", {"status": "finished"}),
    ]


def test_progress_lines_are_json_objects_with_a_progress_key() -> None:
    assert parse_progress('{"progress": 0.42, "message": "Segmenting"}') == {"progress": 0.42, "message": "Segmenting"}
    assert parse_progress('  {"progress": 7}  ') == {"progress": 1.0, "message": None}  # clamped
    assert parse_progress('{"progress": null, "message": "waiting"}') == {"progress": None, "message": "waiting"}
    assert parse_progress('{"progress": "half"}') == {"progress": None, "message": None}
    assert parse_progress('{"message": "no progress key"}') is None
    assert parse_progress("progress 0.5") is None
    assert parse_progress("{not json}") is None


async def test_the_job_log_writes_the_file_and_batches_log_and_progress_events(
    db: AsyncDatabase, tmp_path: Path
) -> None:
    await ensure_indexes(db)
    path = tmp_path / "job" / "plugin-log.txt"
    job_log = JobLog(path, JobEvents(db, "j"))
    job_log.line("Running job ID: j")
    job_log.detail("Preparing working directories...")
    job_log.output("stdout", b'{"progress": 0.5, "message": "half"}\nhello ')
    job_log.output("stderr", b"oops\n")
    job_log.output("stdout", b"world\nunterminated")
    job_log.end_output()
    await job_log.close()
    text = path.read_text()
    assert re.match(r"\[\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\] Running job ID: j\n", text)
    assert "  Preparing working directories...\n" in text
    assert '{"progress": 0.5, "message": "half"}\nhello oops\nworld\nunterminated\n' in text
    got = await events.events_since(db, "j")
    lines = [line for e in got if e["kind"] == "log" for line in e["data"]["lines"]]
    assert lines[0].endswith("Running job ID: j")
    assert lines[1:] == ["  Preparing working directories...", "oops", "hello world", "unterminated"]
    assert [e["data"] for e in got if e["kind"] == "progress"] == [{"progress": 0.5, "message": "half"}]
