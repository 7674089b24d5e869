"""TaskReporter: how a task function reports progress and its outcome (spec 5.6).

Progress is throttled to one event per 150 ms per task; the task's liveness key is renewed in the
background while the function runs, so a killed worker's task is recognised as dead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import tasks
from circus_api.tasks import events

log = logging.getLogger(__name__)

THROTTLE_S = 0.15


class TaskFailure(Exception):
    """Raised by a task function to end its task with this message for the user."""


class TaskReporter:
    def __init__(self, db: AsyncDatabase, redis: aioredis.Redis, task: dict[str, Any], download_dir: Path) -> None:
        self.db = db
        self.redis = redis
        self.task = task
        self.task_id: str = task["taskId"]
        self.user_email: str = task["userEmail"]
        self.download_path = download_dir / self.task_id
        self._last_progress = 0.0
        self.ended = False

    async def progress(
        self, message: str, finished: int | None = None, total: int | None = None, force: bool = False
    ) -> None:
        now = time.monotonic()
        if not force and now - self._last_progress < THROTTLE_S:
            return
        self._last_progress = now
        payload = events.event_payload(self.task_id, message, finished, total)
        await events.publish(self.redis, self.user_email, "progress", payload)

    async def finish(self, message: str = "Finished.") -> None:
        await self._end("finished", "finish", message)

    async def fail(self, message: str) -> None:
        await self._end("error", "error", message)

    async def _end(self, status: str, kind: events.EventKind, message: str) -> None:
        if self.ended:
            return
        self.ended = True
        if await tasks.end(self.db, self.task_id, status, message):
            await events.publish(self.redis, self.user_email, kind, events.event_payload(self.task_id, message))

    @contextlib.asynccontextmanager
    async def heartbeat(self) -> AsyncIterator[None]:
        async def renew() -> None:
            while True:
                await events.mark_alive(self.redis, self.task_id, events.RUNNING_TTL_S)
                await asyncio.sleep(events.HEARTBEAT_INTERVAL_S)

        beat = asyncio.create_task(renew())
        try:
            yield
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat


TaskBody = Callable[[TaskReporter], Awaitable[None]]


async def run_task(db: AsyncDatabase, redis: aioredis.Redis, download_dir: Path, task_id: str,
                   body: TaskBody, failure_message: str | None = None) -> None:
    """Run a task function: heartbeat while it works, then record how it ended.

    A TaskFailure's message reaches the user; any other exception ends the task with
    `failure_message` (or a generic one) and is logged with its traceback for operators.
    """
    task = await tasks.find(db, task_id)
    if task is None or task.get("status") != "processing":
        log.warning("task not runnable", extra={"task_id": task_id})
        return
    reporter = TaskReporter(db, redis, task, download_dir)
    try:
        async with reporter.heartbeat():
            await body(reporter)
    except TaskFailure as exc:
        await reporter.fail(str(exc))
    except Exception:
        log.exception("task failed", extra={"task_id": task_id})
        reporter.download_path.unlink(missing_ok=True)
        await reporter.fail(failure_message or "An internal error occurred while processing the task.")
    else:
        await reporter.finish()
