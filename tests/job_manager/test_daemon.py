"""The daemon: slots, switch, shared queue, hand-back, leases, Docker outages, kill -9 recovery.

Job documents and queue rows are created directly in the test database (the API route that
creates them is tested elsewhere). Tests without the `docker` mark use a fake runner.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api import launcher
from circus_api.db import plugin_jobs
from circus_api.settings import Settings
from job_manager import events, managers, queue, switch
from job_manager.daemon import Daemon
from job_manager.errors import EngineUnavailable
from job_manager.joblog import JobLog
from job_manager.runner import RunOutcome
from tests.job_manager.conftest import job_document, plugin_document

FAKE_PLUGIN = "f" * 64


class FakeRunner:
    """Writes a valid results.json after `delay` seconds; records what ran and how many at once."""

    def __init__(self, delay: float = 0.0, engine_failures: int = 0) -> None:
        self.delay = delay
        self.calls: list[str] = []
        self.running = 0
        self.max_running = 0
        self.engine_failures = engine_failures

    async def run(
        self, job: Mapping[str, Any], plugin: Mapping[str, Any], in_dir: Path, out_dir: Path, log: JobLog
    ) -> RunOutcome:
        self.calls.append(job["jobId"])
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            assert sorted(os.listdir(in_dir)) == ["0.json", "0.mhd", "0.raw"]
            if self.engine_failures:
                self.engine_failures -= 1
                raise EngineUnavailable("connection refused")
            await asyncio.sleep(self.delay)
            (out_dir / "results.json").write_text(json.dumps({"results": {"ranBy": job["jobId"]}}))
            return RunOutcome(0, self.delay)
        finally:
            self.running -= 1


async def add_job(db: AsyncDatabase, job_id: str, plugin_id: str, series_uid: str, priority: int = 0) -> None:
    await db[plugin_jobs.COLLECTION].insert_one(job_document(job_id, plugin_id, series_uid))
    await queue.enqueue(db, job_id, {"pluginId": plugin_id, "series": job_document(job_id, plugin_id, series_uid)[
        "series"]}, priority)


async def add_plugin(db: AsyncDatabase, plugin_id: str = FAKE_PLUGIN, **run_configuration: Any) -> None:
    await db["pluginDefinitions"].insert_one(plugin_document(plugin_id, **run_configuration))


async def wait_for_status(
    db: AsyncDatabase, job_id: str, statuses: tuple[str, ...] = ("finished", "failed"), timeout: float = 30
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = await plugin_jobs.find(db, job_id)
        if job is not None and job["status"] in statuses:
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} still {job and job['status']} after {timeout} s")
        await asyncio.sleep(0.05)


async def wait_until(condition: Any, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(daemon: Daemon) -> AsyncIterator[Daemon]:
    task = asyncio.create_task(daemon.run())
    try:
        yield daemon
    finally:
        daemon.request_stop()
        done, _ = await asyncio.wait([task], timeout=20)
        if not done:
            for t in asyncio.all_tasks():
                t.print_stack()
            raise AssertionError("daemon did not stop")
        task.result()


def fake_daemon(settings: Settings, db: AsyncDatabase, runner: FakeRunner, **kwargs: Any) -> Daemon:
    return Daemon(settings, db, runner=runner, **kwargs)


# --- with a fake runner ---


async def test_a_job_is_claimed_run_and_settled(db: AsyncDatabase, jm_settings: Settings, series_uid: str) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    runner = FakeRunner()
    async with running(fake_daemon(jm_settings, db, runner)):
        job = await wait_for_status(db, "job1")
    assert job["status"] == "finished", job["errorMessage"]
    assert job["results"] == {"results": {"ranBy": "job1"}}
    assert job["startedAt"] is not None and job["finishedAt"] is not None
    assert "updatedAt" not in job  # the reporter never touches it
    assert await queue.count(db, "all") == 0
    assert os.listdir(jm_settings.job_work_dir) == []
    assert sorted(os.listdir(jm_settings.results_dir / "job1")) == ["plugin-log.txt", "results.json"]
    statuses = [e["data"]["status"] for e in await events.events_since(db, "job1") if e["kind"] == "status"]
    assert statuses == ["processing", "finished"]


async def test_an_idle_manager_takes_a_new_job_within_its_default_poll(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    # bench/jobs.py (a): with CIRCUS's 1 s a no-op job waited ~0.5 s in the queue, the largest
    # part of its overhead over a bare `docker run`
    default = Settings.from_env({}).job_poll_seconds
    assert default <= 0.25
    await add_plugin(db)
    waits = []
    async with running(fake_daemon(replace(jm_settings, job_poll_seconds=default), db, FakeRunner())):
        await asyncio.sleep(0.3)  # idle, somewhere in its pause
        for n in range(3):
            queued = time.monotonic()
            await add_job(db, f"idle{n}", FAKE_PLUGIN, series_uid)
            await wait_for_status(db, f"idle{n}", ("processing", "finished", "failed"))
            waits.append(time.monotonic() - queued)
            await wait_for_status(db, f"idle{n}")
    assert max(waits) < default + 1.0, waits  # generous: a loaded CI machine


async def test_an_unknown_plugin_fails_before_processing(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_job(db, "job1", "9" * 64, series_uid)
    async with running(fake_daemon(jm_settings, db, FakeRunner())):
        job = await wait_for_status(db, "job1")
    assert (job["status"], job["errorMessage"]) == ("failed", f"No such plug-in definition: {'9' * 64}")
    assert job["startedAt"] is None and job["finishedAt"] is None
    assert await queue.count(db, "all") == 0


async def test_a_remote_plugin_without_adapter_fails_with_a_clear_message(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    # a remote plug-in never reaches the runner (tests/job_manager/test_remote.py runs real ones)
    await db["pluginDefinitions"].insert_one({**plugin_document("rmt-x"), "type": "CAD+remote"})
    await add_job(db, "job1", "rmt-x", series_uid)
    runner = FakeRunner()
    async with running(fake_daemon(jm_settings, db, runner)):
        job = await wait_for_status(db, "job1")
    assert job["errorMessage"] == "No adapter in the plugin's runConfiguration"
    assert runner.calls == []
    log_text = (jm_settings.results_dir / "job1" / "plugin-log.txt").read_text()
    assert "[ERROR] No adapter" in log_text
    assert os.listdir(jm_settings.job_work_dir) == []


async def test_no_more_jobs_run_at_once_than_there_are_slots(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    for n in range(5):
        await add_job(db, f"job{n}", FAKE_PLUGIN, series_uid)
    runner = FakeRunner(delay=0.3)
    async with running(fake_daemon(jm_settings, db, runner, slots=2)):
        for n in range(5):
            await wait_for_status(db, f"job{n}")
    assert runner.max_running == 2
    assert sorted(runner.calls) == [f"job{n}" for n in range(5)]


async def test_switched_off_nothing_is_claimed_and_running_jobs_finish(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "running", FAKE_PLUGIN, series_uid, priority=1)
    await add_job(db, "waiting", FAKE_PLUGIN, series_uid)
    runner = FakeRunner(delay=1.0)
    async with running(fake_daemon(jm_settings, db, runner, slots=1)):
        await wait_for_status(db, "running", ("processing",))
        await switch.set_status(db, "stopped", "admin@example.com")
        assert (await wait_for_status(db, "running"))["status"] == "finished"
        await asyncio.sleep(0.5)  # several poll rounds
        assert (await queue.find(db, "waiting") or {}).get("state") == "wait"
        assert runner.calls == ["running"]
        await switch.set_status(db, "running", "admin@example.com")
        assert (await wait_for_status(db, "waiting"))["status"] == "finished"


async def test_two_managers_share_one_queue(db: AsyncDatabase, jm_settings: Settings, series_uid: str) -> None:
    await add_plugin(db)
    for n in range(10):
        await add_job(db, f"job{n}", FAKE_PLUGIN, series_uid)
    first, second = FakeRunner(delay=0.2), FakeRunner(delay=0.2)
    daemons = [fake_daemon(jm_settings, db, runner, slots=2) for runner in (first, second)]
    async with running(daemons[0]), running(daemons[1]):
        for n in range(10):
            assert (await wait_for_status(db, f"job{n}"))["status"] == "finished"
    assert sorted(first.calls + second.calls) == [f"job{n}" for n in range(10)]  # each exactly once
    assert first.calls and second.calls


async def test_gpu_jobs_wait_for_a_manager_with_gpu_slots(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db, "g" * 64, gpus="all")
    await add_plugin(db)
    await add_job(db, "gpujob", "g" * 64, series_uid, priority=9)
    await add_job(db, "cpujob", FAKE_PLUGIN, series_uid)
    runner = FakeRunner()
    async with running(fake_daemon(jm_settings, db, runner, gpu_slots=0)):
        await wait_for_status(db, "cpujob")
        await asyncio.sleep(0.3)
        assert (await queue.find(db, "gpujob") or {}).get("state") == "wait"
    gpu_runner = FakeRunner()
    async with running(fake_daemon(jm_settings, db, gpu_runner, slots=0, gpu_slots=1)):
        await wait_for_status(db, "gpujob")
    assert gpu_runner.calls == ["gpujob"]


async def test_stopping_hands_running_jobs_back_after_the_grace_period(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    daemon = fake_daemon(replace(jm_settings, job_stop_grace_seconds=0.3), db, FakeRunner(delay=60))
    async with running(daemon):
        await wait_for_status(db, "job1", ("processing",))
    row = await queue.find(db, "job1")
    assert row is not None
    assert (row["state"], row["owner"], row["attempts"]) == ("wait", None, 0)
    job = await plugin_jobs.find(db, "job1")
    assert job is not None and (job["status"], job["startedAt"]) == ("in_queue", None)
    assert os.listdir(jm_settings.job_work_dir) == []
    assert await managers.list_managers(db) == []  # deregistered on a clean exit
    # and another manager runs it
    async with running(fake_daemon(jm_settings, db, FakeRunner())):
        assert (await wait_for_status(db, "job1"))["status"] == "finished"


async def test_a_manager_that_lost_its_lease_stops_the_job_without_reporting(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    runner = FakeRunner(delay=60)
    daemon = fake_daemon(replace(jm_settings, job_lease_seconds=0.6), db, runner)
    async with running(daemon):
        await wait_for_status(db, "job1", ("processing",))
        await db[queue.COLLECTION].update_one({"jobId": "job1"}, {"$set": {"owner": "someone-else"}})

        async def stopped() -> bool:
            return not daemon.running

        await wait_until(stopped, timeout=5)
    job = await plugin_jobs.find(db, "job1")
    assert job is not None and job["status"] == "processing"  # the new owner reports, not us
    assert (await queue.find(db, "job1") or {}).get("owner") == "someone-else"


async def test_a_job_whose_engine_died_goes_back_to_the_queue_and_runs_again(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    runner = FakeRunner(engine_failures=1)
    async with running(fake_daemon(jm_settings, db, runner)):
        job = await wait_for_status(db, "job1")
    assert job["status"] == "finished"
    assert runner.calls == ["job1", "job1"]
    statuses = [e["data"]["status"] for e in await events.events_since(db, "job1") if e["kind"] == "status"]
    assert statuses == ["processing", "in_queue", "processing", "finished"]
    log_text = (jm_settings.results_dir / "job1" / "plugin-log.txt").read_text()
    assert "(attempt 2)" in log_text


async def test_the_registry_shows_each_manager_with_its_running_jobs(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    daemon = fake_daemon(jm_settings, db, FakeRunner(delay=1.0), slots=3, gpu_slots=0)
    async with running(daemon):
        await wait_for_status(db, "job1", ("processing",))

        async def reported() -> bool:
            return any(m["runningJobs"] == ["job1"] for m in await managers.list_managers(db))

        await wait_until(reported, timeout=5)
        [entry] = await managers.list_managers(db)
        assert entry["managerId"] == daemon.manager_id and entry["stale"] is False
        assert (entry["slots"], entry["gpuSlots"], entry["pid"]) == (3, 0, os.getpid())
        assert entry["dockerAvailable"] is True
        assert await switch.get_status(db) == "running"


# --- with Docker ---


def containers_of(client: docker.DockerClient, job_id: str) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"circus.job={job_id}"}, ignore_removed=True)


def unique(name: str) -> str:
    """A job id no other test session on this engine uses at the same time."""
    return f"{name}{secrets.token_hex(4)}"


@pytest.mark.docker
async def test_a_job_runs_end_to_end_in_docker(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, plugin_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    e2e = unique("e2e")
    await add_plugin(db, plugin_images["succeed"])
    await add_job(db, e2e, plugin_images["succeed"], series_uid)
    async with running(Daemon(jm_settings, db)):
        job = await wait_for_status(db, e2e)
    assert job["status"] == "finished", job["errorMessage"]
    assert job["results"]["results"]["lesionCandidates"][0]["confidence"] == 0.876
    assert job["results"]["inputs"] == ["0.json", "0.mhd", "0.raw"]
    folder = jm_settings.results_dir / e2e
    assert sorted(os.listdir(folder)) == ["data.txt", "plugin-log.txt", "results.json", "sub"]
    log_text = (folder / "plugin-log.txt").read_text()
    for expected in (f"Running job ID: {e2e}", "Writing file: 0.raw", "hello from stdout", "hello from stderr",
                     "Job execution done."):
        assert expected in log_text
    got = await events.events_since(db, e2e)
    assert [e["data"]["status"] for e in got if e["kind"] == "status"] == ["processing", "finished"]
    assert {"progress": 1.0, "message": "done"} in [e["data"] for e in got if e["kind"] == "progress"]
    assert any("hello from stdout" in line for e in got if e["kind"] == "log" for line in e["data"]["lines"])
    assert got[-1]["kind"] == "status"  # nothing after the final status
    assert containers_of(docker_client, e2e) == []
    assert os.listdir(jm_settings.job_work_dir) == []


@pytest.mark.docker
async def test_misbehaving_plugins_end_as_failed_jobs_with_the_right_message(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, plugin_images: dict[str, str],
    docker_client: docker.DockerClient,
) -> None:
    cases = {
        "no_results": ({}, "The plug-in exited with code 5 without writing results.json."),
        "invalid": ({}, "Plug-in validation failed: Schema validation error for results.json file.\n"),
        "hang": ({"timeout": 1}, "The container did not finish within the timeout of 1000 ms."),
        "network": ({}, "The plug-in exited with code 3 without writing results.json."),
        "symlink": ({}, "Plug-in output rejected: passwd is a symbolic link."),
        "oom": ({"memory": "64m"}, "The plug-in ran out of memory (limit 64m)."),
    }
    ids = {mode: unique(mode.replace("_", "")) for mode in cases}
    for mode, (run_configuration, _) in cases.items():
        await add_plugin(db, plugin_images[mode], **run_configuration)
        await add_job(db, ids[mode], plugin_images[mode], series_uid)
    async with running(Daemon(jm_settings, db, slots=2)):
        for mode, (_, message) in cases.items():
            job = await wait_for_status(db, ids[mode])
            assert job["status"] == "failed", mode
            assert job["errorMessage"].startswith(message), (mode, job["errorMessage"])
            assert containers_of(docker_client, ids[mode]) == []
    assert not (jm_settings.results_dir / ids["symlink"] / "passwd").exists()
    assert "network unreachable" in (jm_settings.results_dir / ids["network"] / "plugin-log.txt").read_text()
    assert os.listdir(jm_settings.job_work_dir) == []
    assert await queue.count(db, "all") == 0


@pytest.mark.docker
async def test_an_unreachable_docker_engine_is_waited_for(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, plugin_images: dict[str, str], tmp_path: Path,
) -> None:
    engine_up = False

    def client_factory() -> docker.DockerClient:
        if engine_up:
            return docker.from_env(timeout=60)
        return docker.DockerClient(base_url=f"unix://{tmp_path}/no-docker.sock", version="1.41", timeout=5)

    await add_plugin(db, plugin_images["succeed"])
    await add_job(db, "job1", plugin_images["succeed"], series_uid)
    async with running(Daemon(jm_settings, db, client_factory=client_factory)):
        await asyncio.sleep(1.5)
        assert (await queue.find(db, "job1") or {}).get("state") == "wait"
        [entry] = await managers.list_managers(db)
        assert entry["dockerAvailable"] is False
        assert entry["dockerMessage"].startswith("Docker engine not reachable")
        engine_up = True
        job = await wait_for_status(db, "job1", timeout=20)
        assert job["status"] == "finished", job["errorMessage"]
        [entry] = await managers.list_managers(db)
        assert entry["dockerAvailable"] is True


@pytest.mark.docker
@pytest.mark.slow
async def test_a_job_of_a_killed_manager_runs_again_elsewhere_and_leaves_no_container(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str, plugin_images: dict[str, str],
    docker_client: docker.DockerClient, tmp_path: Path,
) -> None:
    crash = unique("crash")
    await add_plugin(db, plugin_images["slow"])
    await add_job(db, crash, plugin_images["slow"], series_uid)
    env = launcher.child_environment(jm_settings)
    env.update(CIRCUS_JOB_LEASE_SECONDS="2", CIRCUS_JOB_POLL_SECONDS="0.2", CIRCUS_JOB_SLOTS="1")
    log_path = tmp_path / "manager-a.log"
    with open(log_path, "wb") as manager_log:
        manager_a = subprocess.Popen([sys.executable, "-m", "circus_api.cli", "job-manager"], env=env,
                                     stdout=manager_log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        async def container_started() -> bool:
            if manager_a.poll() is not None:
                raise AssertionError(f"manager A exited:\n{log_path.read_text()}")
            return any(c.status == "running" for c in containers_of(docker_client, crash))

        await wait_until(container_started, timeout=30)
        os.kill(manager_a.pid, signal.SIGKILL)
        manager_a.wait(timeout=10)
    finally:
        if manager_a.poll() is None:
            manager_a.kill()
    assert containers_of(docker_client, crash)  # the orphan is still there...
    async with running(Daemon(jm_settings, db)):
        job = await wait_for_status(db, crash, timeout=40)
    assert job["status"] == "finished", job["errorMessage"]
    assert containers_of(docker_client, crash) == []  # ...until the second manager removes it
    assert await queue.count(db, "all") == 0
    assert "(attempt 2)" in (jm_settings.results_dir / crash / "plugin-log.txt").read_text()
    assert os.listdir(jm_settings.job_work_dir) == []


async def test_a_job_id_that_could_escape_the_folders_fails_before_any_file_is_written(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "../escape", FAKE_PLUGIN, series_uid)
    async with running(fake_daemon(jm_settings, db, FakeRunner())):
        job = await wait_for_status(db, "../escape")
    assert job["errorMessage"] == "Invalid Job ID format: '../escape'."
    assert not (jm_settings.results_dir.parent / "escape").exists()


async def test_a_job_no_longer_queued_is_dropped_without_running(
    db: AsyncDatabase, jm_settings: Settings, series_uid: str
) -> None:
    await add_plugin(db)
    await add_job(db, "job1", FAKE_PLUGIN, series_uid)
    await db[plugin_jobs.COLLECTION].update_one({"jobId": "job1"}, {"$set": {"status": "cancelled"}})
    runner = FakeRunner()

    async def queue_empty() -> bool:
        return await queue.count(db, "all") == 0

    async with running(fake_daemon(jm_settings, db, runner)):
        await wait_until(queue_empty, timeout=5)
    assert runner.calls == []
    assert (await plugin_jobs.find(db, "job1") or {})["status"] == "cancelled"


@pytest.mark.docker
async def test_the_sweep_removes_containers_of_dead_managers_only(
    db: AsyncDatabase, jm_settings: Settings, docker_client: docker.DockerClient, plugin_images: dict[str, str]
) -> None:
    job_id = unique("orphan")
    labels = {"circus.job": job_id, "circus.manager": "elsewhere-1-abc", "circus.database": jm_settings.database}
    container = docker_client.containers.create(plugin_images["hang"], labels=labels, network_mode="none")
    try:
        daemon = Daemon(jm_settings, db)
        await daemon.sweep()  # a manager this database never registered: maybe another installation's
        assert containers_of(docker_client, job_id)
        await managers.report(db, managers.ManagerState("elsewhere-1-abc", 1, 0, host="elsewhere", pid=1))
        await queue.enqueue(db, job_id, {"pluginId": plugin_images["hang"], "series": []})
        await queue.claim(db, "elsewhere-1-abc", 60)
        await daemon.sweep()  # registered, alive, and still running that job: kept
        assert containers_of(docker_client, job_id)
        await db[queue.COLLECTION].update_one({"jobId": job_id}, {"$set": {"owner": "another-manager"}})
        await daemon.sweep()  # the job was taken over: the old container goes
        assert containers_of(docker_client, job_id) == []
    finally:
        with contextlib.suppress(docker.errors.NotFound):
            container.remove(force=True)
