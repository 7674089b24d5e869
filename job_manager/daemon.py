"""The job manager daemon: claims jobs into slots, runs each in its own task, keeps leases alive.

- Slots: `job_slots` for plug-ins without GPUs, `job_gpu_slots` apart for the ones whose
  `runConfiguration.gpus` is set (a GPU slot only takes GPU jobs; 0 leaves them to others).
- The switch (`switch.py`, in MongoDB) is read before each round of claims: `stopped` means no
  new claims; running jobs finish.
- Leases: every `lease/3` the manager renews the lease of each running job. A job whose lease
  cannot be renewed (another manager took it over, or the database was out of reach for a whole
  lease) is stopped without writing anything: its new owner reports it.
- Docker engine unreachable: no claims, `dockerAvailable: false` in the registry, checks again
  with a growing pause (up to 5 s), and goes on when it answers. A job whose engine dies under it
  goes back to the queue (the attempt counts, so a job that kills the engine cannot loop forever).
- Stop (SIGTERM/SIGINT, `request_stop`): no new claims; running jobs get `job_stop_grace_seconds`,
  then their containers are killed and their rows handed back (`wait`, job `in_queue`).
- Sweeps (start-up, engine back, every 30 s): containers labelled `circus.job` (and this
  database's `circus.database`) whose manager is registered but dead (same host and pid gone, or
  no heartbeat for 20 s), or whose job is no longer that manager's, are removed; containers of
  managers this database does not know are left alone (another installation on the same engine).
  Working folders of jobs nobody alive runs are removed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.indexes import ensure_indexes
from circus_api.settings import Settings
from job_manager import managers, queue, switch
from job_manager.errors import EngineUnavailable, cancellation_pending
from job_manager.events import JobEvents
from job_manager.execution import execute_job
from job_manager.inputs import remove_tree, valid_job_id
from job_manager.reporter import Reporter
from job_manager.runner import (
    LABEL_JOB,
    LABEL_MANAGER,
    DockerClientFactory,
    DockerRunner,
    Runner,
    check_engine,
    default_client_factory,
    job_containers,
    remove_container,
)

log = logging.getLogger(__name__)

ENGINE_RECHECK_S = 10.0  # while the engine answers
ENGINE_RETRY_MAX_S = 5.0  # longest pause between checks while it does not
SWEEP_INTERVAL_S = 30.0


def new_manager_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


async def wait_event(event: asyncio.Event, seconds: float) -> None:
    """Wait for the event at most `seconds`. Not `asyncio.wait_for`: on Python 3.11 it can swallow
    a cancellation that arrives as the event is set, and a task would then never stop."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


@dataclass
class RunningJob:
    task: asyncio.Task[None]
    gpu: bool
    last_heartbeat: float = field(default_factory=time.monotonic)
    lost: bool = False


class Daemon:
    def __init__(
        self,
        settings: Settings,
        db: AsyncDatabase,
        *,
        manager_id: str | None = None,
        runner: Runner | None = None,
        client_factory: DockerClientFactory | None = None,
        slots: int | None = None,
        gpu_slots: int | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.manager_id = manager_id or new_manager_id()
        # Docker is checked and swept only when jobs run in Docker (tests inject other runners)
        self.uses_docker = runner is None or client_factory is not None
        self.client_factory = client_factory or default_client_factory
        self.runner: Runner = runner or DockerRunner(self.manager_id, self.client_factory, settings.database)
        self.slots = settings.job_slots if slots is None else slots
        self.gpu_slots = settings.job_gpu_slots if gpu_slots is None else gpu_slots
        self.lease_s = settings.job_lease_seconds
        self.state = managers.ManagerState(self.manager_id, self.slots, self.gpu_slots)
        self.running: dict[str, RunningJob] = {}
        self._stop = asyncio.Event()
        self._closing = asyncio.Event()  # ends the background loops (not cancel: see cancellation_pending)
        self._wake = asyncio.Event()
        self._report_now = asyncio.Event()
        self._engine_ok = not self.uses_docker
        self._engine_checked_at = 0.0
        self._engine_retry_s = 0.5
        self._last_sweep = 0.0
        self._last_claim_error = 0.0
        self.log_extra = {"manager_id": self.manager_id}
        if not self.uses_docker:
            self.state.docker_available, self.state.docker_message = True, "Not used by this manager's runner."

    # --- control ---

    def request_stop(self) -> None:
        """Stop claiming; `run()` returns once running jobs finished or were handed back."""
        self._stop.set()
        self._wake.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> None:
        for problem in await ensure_indexes(self.db):
            log.warning("index not created", extra={"problem": problem})
        await managers.report(self.db, self.state)
        log.info("job manager started", extra={**self.log_extra, "slots": self.slots, "gpu_slots": self.gpu_slots})
        background = [
            asyncio.create_task(self._registry_loop(), name="registry"),
            asyncio.create_task(self._lease_loop(), name="leases"),
        ]
        try:
            await self._claim_loop()
            await self._drain()
        finally:
            self._closing.set()
            self._report_now.set()
            _done, pending = await asyncio.wait(background, timeout=5)
            for task in pending:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)
            with contextlib.suppress(Exception):
                await managers.remove(self.db, self.manager_id)
            log.info("job manager stopped", extra=self.log_extra)

    async def _pause(self, seconds: float) -> None:
        """Sleep, waking early when a slot freed up or a stop was requested since the round began."""
        await wait_event(self._wake, seconds)

    # --- claiming ---

    async def _claim_loop(self) -> None:
        while not self.stopping:
            self._wake.clear()
            try:
                if await self._engine_ready():
                    await self._maybe_sweep()
                    if await switch.get_status(self.db) == "running":
                        await self._claim_free_slots()
            except Exception:  # the database may be away for a moment: log (not every round) and go on
                if time.monotonic() - self._last_claim_error > 30:
                    self._last_claim_error = time.monotonic()
                    log.exception("claim round failed", extra=self.log_extra)
            await self._pause(self.settings.job_poll_seconds if self._engine_ok else self._engine_retry_s)

    def _free(self, gpu: bool) -> int:
        used = sum(1 for job in self.running.values() if job.gpu == gpu)
        return (self.gpu_slots if gpu else self.slots) - used

    async def _claim_free_slots(self) -> None:
        for gpu in (False, True):
            while self._free(gpu) > 0 and not self.stopping:
                row = await queue.claim(
                    self.db, self.manager_id, self.lease_s, gpu_ok=gpu, gpu_only=gpu,
                    max_attempts=self.settings.job_max_attempts,
                )
                if row is None:
                    break
                self._start(row, gpu)

    def _start(self, row: dict[str, Any], gpu: bool) -> None:
        job_id = row["jobId"]
        log.info("job claimed", extra={**self.log_extra, "job_id": job_id, "attempt": row.get("attempts")})
        task = asyncio.create_task(self._job_task(row), name=f"job-{job_id}")
        self.running[job_id] = RunningJob(task, gpu)
        self._running_changed()

    def _running_changed(self) -> None:
        self.state.running_jobs = sorted(self.running)
        self._report_now.set()
        self._wake.set()

    async def _job_task(self, row: dict[str, Any]) -> None:
        job_id = row["jobId"]
        extra = {**self.log_extra, "job_id": job_id}
        try:
            status = await execute_job(self.db, self.settings, self.runner, row)
            await queue.settle(self.db, job_id, self.manager_id)
            log.info("job settled", extra={**extra, "status": status})
        except EngineUnavailable as exc:
            log.warning("Docker engine lost during a job; back to the queue", extra={**extra, "error": str(exc)})
            self._engine_lost(str(exc))
            await self._hand_back(job_id, count_attempt=True)
        except asyncio.CancelledError:
            await self._after_cancel(job_id)
            raise
        except Exception:
            if cancellation_pending():
                await self._after_cancel(job_id)
                raise
            log.exception("job task failed", extra=extra)
            await self._hand_back(job_id, count_attempt=True)
        finally:
            self.running.pop(job_id, None)
            self._running_changed()

    async def _after_cancel(self, job_id: str) -> None:
        running = self.running.get(job_id)
        if running is None or not running.lost:  # stopping: let another manager run it
            await self._hand_back(job_id, count_attempt=False)

    async def _hand_back(self, job_id: str, count_attempt: bool) -> None:
        try:
            if await queue.release(self.db, job_id, self.manager_id, count_attempt=count_attempt):
                await Reporter(JobEvents(self.db, job_id)).requeued()
                log.info("job handed back to the queue", extra={**self.log_extra, "job_id": job_id})
        except Exception:  # then the lease expires and another manager reclaims it
            log.exception("job not handed back", extra={**self.log_extra, "job_id": job_id})

    async def _drain(self) -> None:
        tasks = [job.task for job in self.running.values()]
        if not tasks:
            return
        log.info("waiting for running jobs", extra={**self.log_extra, "jobs": len(tasks)})
        _done, pending = await asyncio.wait(tasks, timeout=self.settings.job_stop_grace_seconds)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    # --- leases and registry ---

    async def _lease_loop(self) -> None:
        interval = max(0.2, self.lease_s / 3)
        while not self._closing.is_set():
            await wait_event(self._closing, interval)
            for job_id, job in list(self.running.items()):
                try:
                    kept = await queue.heartbeat(self.db, job_id, self.manager_id, self.lease_s)
                except Exception:
                    log.warning("lease not renewed", exc_info=True, extra={**self.log_extra, "job_id": job_id})
                    # unknown for a whole lease: another manager may run it now
                    kept = time.monotonic() - job.last_heartbeat < self.lease_s
                else:
                    if kept:
                        job.last_heartbeat = time.monotonic()
                if not kept and not job.lost:
                    log.warning("lease lost; stopping the job", extra={**self.log_extra, "job_id": job_id})
                    job.lost = True
                    job.task.cancel()

    async def _registry_loop(self) -> None:
        while not self._closing.is_set():
            self._report_now.clear()
            try:
                await managers.report(self.db, self.state)
            except Exception:
                log.warning("registry not updated", exc_info=True, extra=self.log_extra)
            await wait_event(self._report_now, managers.HEARTBEAT_INTERVAL_S)

    # --- Docker engine ---

    async def _engine_ready(self) -> bool:
        if not self.uses_docker:
            return True
        now = time.monotonic()
        if self._engine_ok and now - self._engine_checked_at < ENGINE_RECHECK_S:
            return True
        ok, message, gpu = await anyio.to_thread.run_sync(check_engine, self.client_factory)
        self._engine_checked_at = now
        changed = ok != self._engine_ok or message != self.state.docker_message
        self.state.docker_available, self.state.docker_message, self.state.gpu_runtime = ok, message, gpu
        if ok and not self._engine_ok:
            log.info("Docker engine answers", extra={**self.log_extra, "engine": message})
            self._engine_retry_s = 0.5
            self._last_sweep = 0.0  # sweep what the outage left behind
        elif not ok:
            if self._engine_ok or self._engine_retry_s == 0.5:
                log.warning("Docker engine not reachable; not claiming jobs",
                            extra={**self.log_extra, "error": message})
            self._engine_retry_s = min(ENGINE_RETRY_MAX_S, self._engine_retry_s * 2)
        self._engine_ok = ok
        if changed:
            self._report_now.set()
        return ok

    def _engine_lost(self, message: str) -> None:
        self._engine_ok = False
        self.state.docker_available, self.state.docker_message = False, f"Docker engine not reachable: {message}"
        self._report_now.set()

    # --- sweeps ---

    async def _maybe_sweep(self) -> None:
        if time.monotonic() - self._last_sweep < SWEEP_INTERVAL_S:
            return
        self._last_sweep = time.monotonic()
        try:
            await self.sweep()
        except Exception:
            log.warning("sweep failed", exc_info=True, extra=self.log_extra)

    async def _manager_states(self) -> Callable[[str | None], str]:
        """manager id -> `alive`, `dead` (stale, or its pid is gone on this host) or `unknown`."""
        docs = {doc["managerId"]: doc for doc in await managers.list_managers(self.db)}
        host = socket.gethostname()

        def state(manager_id: str | None) -> str:
            if manager_id == self.manager_id:
                return "alive"
            doc = docs.get(manager_id or "")
            if doc is None:
                return "unknown"
            if doc["stale"] or (doc.get("host") == host and not pid_alive(int(doc.get("pid") or 0))):
                return "dead"
            return "alive"

        return state

    async def sweep(self) -> None:
        """Remove containers and working folders that no live manager's job needs."""
        states = await self._manager_states()
        if self.uses_docker:
            await self._sweep_containers(states)
        await self._sweep_folders(states)
        await managers.forget_stale(self.db)

    async def _sweep_containers(self, states: Callable[[str | None], str]) -> None:
        client = await anyio.to_thread.run_sync(self.client_factory)
        try:
            containers = await anyio.to_thread.run_sync(job_containers, client, self.settings.database)
            for container in containers:
                job_id = container.labels.get(LABEL_JOB, "")
                owner = container.labels.get(LABEL_MANAGER)
                if owner == self.manager_id and job_id in self.running:
                    continue
                state = states(owner)
                if state == "unknown":  # a manager this database never knew: not ours to judge
                    continue
                row = await queue.find(self.db, job_id)
                still_theirs = row is not None and row.get("state") == "processing" and row.get("owner") == owner
                if owner != self.manager_id and state == "alive" and still_theirs:
                    continue
                log.info("removing a container left behind", extra={
                    **self.log_extra, "job_id": job_id, "container": container.short_id, "owner": owner})
                await anyio.to_thread.run_sync(remove_container, container)
        finally:
            await anyio.to_thread.run_sync(client.close)

    async def _sweep_folders(self, states: Callable[[str | None], str]) -> None:
        work_dir = self.settings.job_work_dir
        names = await anyio.to_thread.run_sync(lambda: sorted(os.listdir(work_dir)) if work_dir.is_dir() else [])
        for name in names:
            if name in self.running or not valid_job_id(name):
                continue
            row = await queue.find(self.db, name)
            if row is not None and row.get("state") == "processing" and states(row.get("owner")) == "alive":
                continue
            log.info("removing a working folder left behind", extra={**self.log_extra, "job_id": name})
            await anyio.to_thread.run_sync(remove_tree, work_dir / name)
