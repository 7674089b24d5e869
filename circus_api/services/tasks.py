"""Tasks as the API sees them: registration, ownership, liveness and downloads (spec 4.12, 5.6)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import anyio.to_thread
import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import tasks
from circus_api.db.ids import new_ulid
from circus_api.errors import BadRequest, Conflict, NotFound, ServiceUnavailable, Unauthorized
from circus_api.search import SearchRequest, run_search
from circus_api.tasks import events

log = logging.getLogger(__name__)

WORKER_LOST = "The worker running this task stopped before it ended."

# MIME type -> file extension for `download.<ext>` (tgz is special-cased)
DOWNLOAD_EXTENSIONS = {"application/zip": "zip", "application/octet-stream": "bin", "application/json": "json"}


def require_redis(redis: aioredis.Redis | None) -> aioredis.Redis:
    if redis is None:
        raise ServiceUnavailable("Task workers are not configured (REDIS_URL is unset).")
    return redis


async def register(
    db: AsyncDatabase,
    redis: aioredis.Redis | None,
    user_email: str,
    name: str,
    send: Callable[[str], Any],
    download_file_type: str | None = None,
) -> str:
    """Insert a task, mark it queued, and hand it to a worker with `send(task_id)`."""
    redis = require_redis(redis)
    task_id = new_ulid()
    await tasks.insert(
        db,
        {
            "taskId": task_id,
            "name": name,
            "userEmail": user_email,
            "status": "processing",
            "errorMessage": None,
            "finishedMessage": None,
            "endedAt": None,
            "downloadFileType": download_file_type,
            "dismissed": False,
        },
    )
    await events.mark_alive(redis, task_id, events.QUEUED_TTL_S)
    await events.publish(redis, user_email, "progress", events.event_payload(task_id, "Starting the task."))
    try:
        send(task_id)
    except Exception as exc:  # the broker is down: the task would never run
        log.exception("task not enqueued", extra={"task_id": task_id})
        await tasks.end(db, task_id, "error", "The task could not be queued.")
        raise ServiceUnavailable("The task queue is not available.") from exc
    return task_id


async def settle_dead_tasks(db: AsyncDatabase, redis: aioredis.Redis | None, user_email: str | None) -> None:
    """Mark `processing` tasks whose worker is gone as errors (lazily, when tasks are listed)."""
    if redis is None:
        return
    running = await (tasks.processing_of_user(db, user_email) if user_email else tasks.all_processing(db))
    liveness = await events.alive(redis, [t["taskId"] for t in running])
    for task in running:
        if not liveness[task["taskId"]] and await tasks.end(db, task["taskId"], "error", WORKER_LOST):
            payload = events.event_payload(task["taskId"], WORKER_LOST)
            await events.publish(redis, task["userEmail"], "error", payload)


async def search(
    db: AsyncDatabase, redis: aioredis.Redis | None, user_email: str, request: SearchRequest
) -> dict[str, Any]:
    await settle_dead_tasks(db, redis, user_email)
    return await run_search(db[tasks.COLLECTION], request, {"userEmail": user_email})


async def running_progress(db: AsyncDatabase, redis: aioredis.Redis, user_email: str) -> list[dict[str, Any]]:
    """The latest progress event of each of the user's running tasks (what a new stream sees first)."""
    await settle_dead_tasks(db, redis, user_email)
    running = await tasks.processing_of_user(db, user_email)
    return [
        await events.latest_progress(redis, t["taskId"]) or events.event_payload(t["taskId"], "Processing...")
        for t in running
    ]


async def get_own(db: AsyncDatabase, task_id: str, user_email: str) -> dict[str, Any]:
    task = await tasks.find(db, task_id)
    if task is None:
        raise NotFound("This task does not exist.")
    if task["userEmail"] != user_email:
        raise Unauthorized("You cannot access this task.")
    return task


async def dismiss(db: AsyncDatabase, download_dir: Path, task_id: str, user_email: str, dismissed: bool) -> None:
    task = await get_own(db, task_id, user_email)
    if task["status"] != "finished":
        raise BadRequest("The task is not completed yet.")
    await tasks.set_dismissed(db, task_id, dismissed)
    if dismissed and task.get("downloadFileType"):
        (download_dir / task_id).unlink(missing_ok=True)


async def download(db: AsyncDatabase, download_dir: Path, task_id: str, user_email: str) -> tuple[Path, str, str]:
    """(file, content type, file name) of a finished task's download."""
    task = await get_own(db, task_id, user_email)
    file_type = task.get("downloadFileType")
    if not file_type:
        raise BadRequest("This task is not associated with a downloadable file.")
    if task["status"] != "finished":
        raise Conflict("This task has not been completed.")
    path = download_dir / task_id
    if not path.is_file():
        raise NotFound(f"The requested download file for the task {task_id} is no longer available.")
    if file_type == "application/x-tgz":
        return path, "application/gzip", "download.tar.gz"
    return path, file_type, f"download.{DOWNLOAD_EXTENSIONS.get(file_type, 'bin')}"


DOWNLOAD_MAX_AGE = dt.timedelta(days=7)
HOUSEKEEPING_INTERVAL_S = 60
SWEEP_INTERVAL = dt.timedelta(days=1)


def sweep_downloads(download_dir: Path, max_age: dt.timedelta = DOWNLOAD_MAX_AGE) -> int:
    """Delete download files older than `max_age` (spec 5.6); returns how many went."""
    cutoff = time.time() - max_age.total_seconds()
    removed = 0
    for path in download_dir.iterdir() if download_dir.is_dir() else []:
        if path.is_file() and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


async def sweep_old_downloads(download_dir: Path) -> int:
    return await anyio.to_thread.run_sync(sweep_downloads, download_dir)


Sweep = Callable[[], Awaitable[int]]  # removes what is left over; returns how many items went


async def housekeeping(db: AsyncDatabase, redis: aioredis.Redis | None, daily: Mapping[str, Sweep]) -> None:
    """The API's background chores: settle tasks whose worker died; run the `daily` sweeps (what
    they remove -> the sweep), e.g. old downloads."""
    last_sweep = 0.0
    while True:
        try:
            await settle_dead_tasks(db, redis, None)
            if time.time() - last_sweep > SWEEP_INTERVAL.total_seconds():
                last_sweep = time.time()
                for what, sweep in daily.items():
                    removed = await sweep()
                    if removed:
                        log.info(f"{what} removed", extra={"count": removed})
        except Exception:
            log.exception("housekeeping failed")
        # a client library can swallow the cancellation of a call in flight (seen at shutdown right
        # after start-up): without this check the loop sleeps on and the app never stops
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise asyncio.CancelledError
        await asyncio.sleep(HOUSEKEEPING_INTERVAL_S)
