"""Actors: thin wrappers that run task functions with explicit retry and time limits.

dramatiq's defaults (20 retries, 10 minutes) are wrong for non-idempotent imports, so every actor
states its own.
"""

from __future__ import annotations

from typing import Any

import dramatiq

from circus_api.services import series_import
from circus_api.tasks import cs_volume_export, debug, dicom_import, mhd_export
from circus_api.tasks.broker import broker  # installs the broker before any actor is declared
from circus_api.tasks.progress import TaskBody, run_task
from circus_api.tasks.runtime import get_runtime

__all__ = ["broker", "debug_task", "export_cs_volume", "export_mhd", "import_series"]

HOUR_MS = 3600 * 1000
IMPORT_TIME_LIMIT_MS = 6 * HOUR_MS  # a few GB of archives, parsed file by file


async def _run(task_id: str, body: TaskBody, failure_message: str | None = None) -> None:
    runtime = get_runtime()
    await run_task(runtime.db, runtime.redis, runtime.settings.download_dir, task_id, body, failure_message)


@dramatiq.actor(max_retries=0, time_limit=HOUR_MS)
async def debug_task(task_id: str, steps: int, tick_ms: int, with_download: bool, fails: bool) -> None:
    await _run(task_id, lambda reporter: debug.run(reporter, steps, tick_ms, with_download, fails))


# up to 10 volumes of several hundred slices each, read, packed and compressed
@dramatiq.actor(max_retries=0, time_limit=2 * HOUR_MS)
async def export_cs_volume(task_id: str, entries: list[dict[str, Any]], compression_format: str) -> None:
    dicom_dir = get_runtime().settings.dicom_dir
    await _run(task_id, lambda reporter: cs_volume_export.run(reporter, dicom_dir, entries, compression_format))


@dramatiq.actor(max_retries=0, time_limit=IMPORT_TIME_LIMIT_MS)  # an import is not idempotent: no retry
async def import_series(task_id: str, domain: str, anonymize: bool) -> None:
    settings = get_runtime().settings
    try:
        await _run(task_id, lambda reporter: dicom_import.run(reporter, settings, domain, anonymize),
                   dicom_import.FAILURE_MESSAGE)
    finally:  # however the task ended, even if it never ran: the staged upload goes
        await series_import.discard_staging(settings, task_id)


# up to 100 cases, each with its volumes and label volumes read, packed and compressed
@dramatiq.actor(max_retries=0, time_limit=4 * HOUR_MS)
async def export_mhd(task_id: str, payload: dict[str, Any]) -> None:
    runtime = get_runtime()
    await _run(task_id, lambda reporter: mhd_export.run(reporter, runtime.db, runtime.blobs,
                                                        runtime.settings.dicom_dir, payload),
               mhd_export.FAILURE_MESSAGE)
