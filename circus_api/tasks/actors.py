"""Actors: thin wrappers that run task functions with explicit retry and time limits.

dramatiq's defaults (20 retries, 10 minutes) are wrong for non-idempotent imports, so every actor
states its own.
"""

from __future__ import annotations

import dramatiq

from circus_api.tasks import debug
from circus_api.tasks.broker import broker  # installs the broker before any actor is declared
from circus_api.tasks.progress import TaskBody, run_task
from circus_api.tasks.runtime import get_runtime

__all__ = ["broker", "debug_task"]

HOUR_MS = 3600 * 1000


async def _run(task_id: str, body: TaskBody, failure_message: str | None = None) -> None:
    runtime = get_runtime()
    await run_task(runtime.db, runtime.redis, runtime.settings.download_dir, task_id, body, failure_message)


@dramatiq.actor(max_retries=0, time_limit=HOUR_MS)
async def debug_task(task_id: str, steps: int, tick_ms: int, with_download: bool, fails: bool) -> None:
    await _run(task_id, lambda reporter: debug.run(reporter, steps, tick_ms, with_download, fails))
