"""One job from claim to outcome (spec 5.1): plug-in, inputs, run, results, status.

Every failure ends as `failed` with a readable `errorMessage`; the working folder is removed
whatever happens (CIRCUS keeps it after failures). Two things are *not* job failures and are
raised to the daemon instead: `EngineUnavailable` (the job goes back to the queue) and
cancellation (shutdown or a lost lease).

A remote (`CAD+remote`) plug-in runs through its adapter (`job_manager.remote`) instead of the
runner; inputs, job log and post-process are the same.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions, plugin_jobs
from circus_api.settings import Settings
from job_manager.errors import EngineUnavailable, JobError, cancellation_pending
from job_manager.events import JobEvents
from job_manager.inputs import build_inputs, remove_folder, remove_tree, valid_job_id
from job_manager.joblog import LOG_FILE_NAME, JobLog
from job_manager.remote import remote_run_of
from job_manager.reporter import Reporter
from job_manager.results import collect_results
from job_manager.runner import Runner

log = logging.getLogger(__name__)


async def execute_job(db: AsyncDatabase, settings: Settings, runner: Runner, row: Mapping[str, Any]) -> str | None:
    """Run the job of a claimed queue row; returns its final status (None: no job document)."""
    job_id = str(row["jobId"])
    extra = {"job_id": job_id}
    reporter = Reporter(JobEvents(db, job_id))
    job = await plugin_jobs.find(db, job_id)
    if job is None:  # CIRCUS's reporter silently loses updates of a missing document; so do we
        log.warning("job document missing; queue row dropped", extra=extra)
        return None
    if not valid_job_id(job_id):  # it names folders: refuse before touching any
        await reporter.failed(f"Invalid Job ID format: {job_id!r}.")
        return "failed"
    plugin_id = str(job.get("pluginId") or row.get("payload", {}).get("pluginId") or "")
    plugin = await plugin_definitions.find(db, plugin_id)
    if plugin is None:
        await reporter.failed(f"No such plug-in definition: {plugin_id}")
        return "failed"

    if not await reporter.processing():  # e.g. cancelled or invalidated by hand meanwhile
        log.warning("job is neither queued nor running; not run", extra={**extra, "status": job.get("status")})
        return None
    results_dir = settings.results_dir / job_id
    await anyio.to_thread.run_sync(remove_tree, results_dir)  # what an earlier attempt left
    job_log = JobLog(results_dir / LOG_FILE_NAME, reporter.events)
    job_log.start_pump()
    try:
        attempt = int(row.get("attempts") or 1)
        job_log.line(f"Running job ID: {job_id}" + (f" (attempt {attempt})" if attempt > 1 else ""))
        remote = remote_run_of(plugin)  # None: a Docker plug-in; a misconfigured one fails here
        job_log.line("Starting pre-process...")
        job_log.detail("Preparing working directories...")
        job_log.detail("Performing voxel dump...")
        series = job.get("series") or row.get("payload", {}).get("series") or []
        folder, names = await build_inputs(settings.dicom_dir, settings.job_work_dir, job_id, series)
        for name in names:
            job_log.detail(f"Writing file: {name}")
        name = f"{plugin.get('pluginName', '')} {plugin.get('version', '')}".strip()
        job_log.line(f"Starting the plug-in {name}...")
        if remote is None:
            outcome = await runner.run(job, plugin, folder.in_dir, folder.out_dir, job_log)
        else:  # spec 6: an adapter instead of a container, then the same post-process
            outcome = await remote.run(folder.in_dir, folder.out_dir, job_log)
        job_log.line("Plug-in execution done. Starting post-process...")
        job_log.detail("Validating the results and copying the result files...")
        results, copied = await collect_results(folder.out_dir, results_dir, outcome.exit_code)
        job_log.detail(f"{len(copied)} result files copied.")
        job_log.line("Job execution done.")
        await job_log.flush_events()  # the log events come before the final status
        await reporter.finished(results)
        return "finished"
    except JobError as exc:
        await _fail(reporter, job_log, exc.message)
        return "failed"
    except (EngineUnavailable, asyncio.CancelledError):
        job_log.line("The job was interrupted and goes back to the queue.")
        raise
    except Exception as exc:
        if cancellation_pending():
            raise asyncio.CancelledError() from exc
        log.exception("job failed unexpectedly", extra=extra)
        await _fail(reporter, job_log, f"Internal error in the job manager: {exc}")
        return "failed"
    finally:
        await job_log.close()
        try:
            await remove_folder(settings.job_work_dir, job_id)
        except Exception:
            log.warning("working folder not removed", exc_info=True, extra=extra)


async def _fail(reporter: Reporter, job_log: JobLog, message: str) -> None:
    job_log.line(f"[ERROR] {message}")
    await job_log.flush_events()
    await reporter.failed(message)
