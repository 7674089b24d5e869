"""DockerRunner against the real engine: the sandbox seen from inside, limits, misbehaviour.

Each test builds nothing: the images come from the session fixture `plugin_images` (FROM
circus-plugin-base:bookworm). After every test no container labelled with its job is left.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import docker
import pytest

from circus_api.settings import Settings
from job_manager.errors import JobError
from job_manager.inputs import JobFolder, build_inputs
from job_manager.joblog import JobLog
from job_manager.results import collect_results
from job_manager.runner import (
    GPU_MESSAGE,
    DockerRunner,
    RunOutcome,
    container_user,
    gpu_device_requests,
    limits_of,
    parse_memory,
)
from tests.job_manager.conftest import plugin_document

pytestmark = pytest.mark.docker


@dataclass
class Harness:
    settings: Settings
    folder: JobFolder
    log: JobLog
    job_id: str

    async def run(self, plugin_id: str, **run_configuration: Any) -> RunOutcome:
        runner = DockerRunner("test-manager")
        job = {"jobId": self.job_id}
        return await runner.run(job, plugin_document(plugin_id, **run_configuration), self.folder.in_dir,
                                self.folder.out_dir, self.log)

    def results(self) -> dict[str, Any]:
        return json.loads((self.folder.out_dir / "results.json").read_text())

    def log_text(self) -> str:
        return self.log.path.read_text()


@pytest.fixture
async def harness(
    jm_settings: Settings, series_uid: str, docker_client: docker.DockerClient
) -> Any:
    job_id = f"runner{secrets.token_hex(6)}"  # unique across test sessions sharing the engine
    series = [{"seriesUid": series_uid, "partialVolumeDescriptor": {"start": 1, "end": 4, "delta": 1}}]
    folder, _ = await build_inputs(jm_settings.dicom_dir, jm_settings.job_work_dir, job_id, series)
    job_log = JobLog(jm_settings.results_dir / job_id / "plugin-log.txt")
    yield Harness(jm_settings, folder, job_log, job_id)
    await job_log.close()
    assert docker_client.containers.list(all=True, filters={"label": f"circus.job={job_id}"}) == []


async def test_a_plugin_runs_with_its_inputs_and_its_output_is_logged(
    harness: Harness, plugin_images: dict[str, str]
) -> None:
    outcome = await harness.run(plugin_images["succeed"])
    assert outcome.exit_code == 0
    results = harness.results()
    assert results["inputs"] == ["0.json", "0.mhd", "0.raw"]
    assert "DimSize = 16 16 4" in results["header"]
    log_text = harness.log_text()
    assert "hello from stdout" in log_text and "hello from stderr" in log_text
    assert "Container exited with code 0" in log_text


async def test_the_sandbox_as_seen_from_inside_the_container(harness: Harness, plugin_images: dict[str, str]) -> None:
    await harness.run(plugin_images["sandbox"], memory="256m", cpus=1)
    seen = harness.results()
    assert seen["uid"] == 10001 and seen["gid"] == 10001
    assert "Read-only file system" in seen["root_write"]
    assert "Read-only file system" in seen["in_write"]
    assert seen["tmp_write"] == "ok"
    assert seen["connect"] != "ok" and "unreachable" in seen["connect"].lower()
    assert seen["resolve"] != "ok"
    assert seen["interfaces"] == ["lo"]
    assert int(seen["cap_eff"], 16) == 0 and int(seen["cap_bnd"], 16) == 0
    assert seen["no_new_privs"] == "1"
    assert seen["pids_max"] == "256"
    assert seen["memory_limit"] == str(256 * 1024 * 1024)
    assert seen["cpu_quota"] == "100000"  # 1 CPU per 100 ms period
    assert seen["in_files"] == ["0.json", "0.mhd", "0.raw"]
    assert not (harness.folder.in_dir / "escape").exists()


async def test_a_hanging_plugin_is_killed_at_its_timeout(harness: Harness, plugin_images: dict[str, str]) -> None:
    started = time.monotonic()
    with pytest.raises(JobError, match=r"^The container did not finish within the timeout of 1000 ms\.$"):
        await harness.run(plugin_images["hang"], timeout=1)
    assert time.monotonic() - started < 6


async def test_a_plugin_exhausting_memory_is_stopped_by_the_limit(
    harness: Harness, plugin_images: dict[str, str]
) -> None:
    with pytest.raises(JobError, match=r"^The plug-in ran out of memory \(limit 64m\)\.$"):
        await harness.run(plugin_images["oom"], memory="64m")
    assert not (harness.folder.out_dir / "results.json").exists()


async def test_a_plugin_trying_the_network_reaches_nothing_and_fails(
    harness: Harness, plugin_images: dict[str, str]
) -> None:
    outcome = await harness.run(plugin_images["network"])
    assert outcome.exit_code == 3
    assert "network unreachable" in harness.log_text()
    with pytest.raises(JobError, match=r"^The plug-in exited with code 3 without writing results\.json\.$"):
        await collect_results(harness.folder.out_dir, harness.settings.results_dir / harness.job_id, outcome.exit_code)


async def test_a_plugin_exiting_without_results_fails_with_its_exit_code(
    harness: Harness, plugin_images: dict[str, str]
) -> None:
    outcome = await harness.run(plugin_images["no_results"])
    assert outcome.exit_code == 5
    assert "something went wrong" in harness.log_text()
    with pytest.raises(JobError, match=r"exited with code 5 without writing results\.json"):
        await collect_results(harness.folder.out_dir, harness.settings.results_dir / harness.job_id, 5)


async def test_a_symlink_to_a_host_path_is_not_followed(harness: Harness, plugin_images: dict[str, str]) -> None:
    outcome = await harness.run(plugin_images["symlink"])
    dest = harness.settings.results_dir / harness.job_id
    with pytest.raises(JobError, match=r"^Plug-in output rejected: passwd is a symbolic link\.$"):
        await collect_results(harness.folder.out_dir, dest, outcome.exit_code)
    assert not (dest / "passwd").exists()
    assert not (dest / "results.json").exists()


async def test_a_gpu_plugin_on_an_engine_without_gpu_runtime_fails_clearly(
    harness: Harness, plugin_images: dict[str, str], docker_client: docker.DockerClient
) -> None:
    if "nvidia" in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("this engine has a GPU runtime")
    with pytest.raises(JobError, match=f"^{GPU_MESSAGE}$"):
        await harness.run(plugin_images["succeed"], gpus="all")


async def test_a_missing_image_is_a_readable_error(harness: Harness) -> None:
    with pytest.raises(JobError, match=r"^The plug-in's Docker image 000000000000 is not installed"):
        await harness.run("0" * 64)


def test_limits_come_from_the_run_configuration_with_defaults() -> None:
    limits = limits_of({"runConfiguration": {"timeout": 0, "gpus": ""}})
    assert (limits.timeout_s, limits.memory_bytes, limits.gpus) == (0, 4 * 1024**3, "")
    assert limits_of({}).timeout_s == 900
    limits = limits_of({"runConfiguration": {"timeout": 30, "memory": "512m", "cpus": 0.5, "gpus": "all"}})
    assert (limits.timeout_s, limits.memory_bytes, limits.nano_cpus) == (30, 512 * 1024**2, 5 * 10**8)
    assert limits.gpus == "all"
    assert parse_memory(1024) == 1024 and parse_memory("2GiB") == 2 * 1024**3
    with pytest.raises(JobError, match="is not a size"):
        parse_memory("lots")


def test_gpu_requests_follow_docker_run_gpus() -> None:
    [all_gpus] = gpu_device_requests("all")
    assert all_gpus["Count"] == -1 and all_gpus["Capabilities"] == [["gpu"]]
    assert gpu_device_requests("2")[0]["Count"] == 2
    assert gpu_device_requests("device=0,1")[0]["DeviceIDs"] == ["0", "1"]
    assert gpu_device_requests("") == []


def test_the_container_user_is_the_images_numeric_non_root_user_or_10001() -> None:
    assert container_user("") == (10001, 10001)
    assert container_user("root") == (10001, 10001)
    assert container_user("0:0") == (10001, 10001)
    assert container_user("nobody") == (10001, 10001)
    assert container_user("2000") == (2000, 2000)
    assert container_user("2000:3000") == (2000, 3000)


