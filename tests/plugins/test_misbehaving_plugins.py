"""The misbehaving test plug-ins of plugins/test do what their READMEs promise, in the sandbox of
the infrastructure note, and the job manager's post-process refuses what they leave behind."""

from __future__ import annotations

import json
from pathlib import Path

import docker
import pytest

from job_manager.errors import JobError
from job_manager.results import copy_output, parse_results
from tests.docker_support import build_plugin, run_sandboxed
from tests.plugins.phantom import make_chest_phantom, write_input

pytestmark = pytest.mark.docker


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    phantom = make_chest_phantom(shape_xyz=(32, 32, 8), nodules=[], vessels=[])
    write_input(tmp_path / "in", [(phantom.hu, phantom.spacing)])
    (tmp_path / "out").mkdir()
    return tmp_path / "in", tmp_path / "out"


def test_no_results_exits_cleanly_without_results(docker_client: docker.DockerClient, dirs: tuple[Path, Path]) -> None:
    code, stdout, stderr, _ = run_sandboxed(docker_client, build_plugin(docker_client, "test/no-results"), *dirs)
    assert code == 0
    assert "exiting without results" in stdout and "stderr" in stderr
    assert list(dirs[1].iterdir()) == []


def test_invalid_results_fail_the_schema(docker_client: docker.DockerClient, dirs: tuple[Path, Path]) -> None:
    code, _, _, _ = run_sandboxed(docker_client, build_plugin(docker_client, "test/invalid-results"), *dirs)
    assert code == 0
    with pytest.raises(JobError, match=r"^Plug-in validation failed: Schema validation error for results\.json file\."):
        parse_results((dirs[1] / "results.json").read_bytes())


def test_hangs_is_killed_at_the_timeout(docker_client: docker.DockerClient, dirs: tuple[Path, Path]) -> None:
    code, stdout, _, _ = run_sandboxed(docker_client, build_plugin(docker_client, "test/hangs"), *dirs, timeout=2)
    assert code == 137  # SIGKILL
    assert json.loads(stdout.splitlines()[0]) == {"progress": 0.1, "message": "Pretending to work"}


def test_tries_network_reaches_nothing(docker_client: docker.DockerClient, dirs: tuple[Path, Path]) -> None:
    code, _, stderr, _ = run_sandboxed(docker_client, build_plugin(docker_client, "test/tries-network"), *dirs)
    assert code == 0, stderr
    results = parse_results((dirs[1] / "results.json").read_bytes())["results"]
    assert results["networkReachable"] is False
    assert results["interfaces"] == ["lo"]
    assert [a["ok"] for a in results["attempts"]] == [False, False]


def test_symlink_escape_output_is_refused_by_the_post_process(
    docker_client: docker.DockerClient, dirs: tuple[Path, Path], tmp_path: Path
) -> None:
    code, _, stderr, _ = run_sandboxed(docker_client, build_plugin(docker_client, "test/symlink-escape"), *dirs)
    assert code == 0, stderr
    out = dirs[1]
    assert (out / "passwd").is_symlink() and str((out / "passwd").readlink()) == "/etc/passwd"
    assert (out / "sub" / "etc").is_symlink()
    dest = tmp_path / "results"
    with pytest.raises(JobError, match="is a symbolic link"):
        copy_output(out, dest)
    assert not (dest / "passwd").exists()


def test_memory_hog_is_killed_by_the_memory_limit(docker_client: docker.DockerClient, dirs: tuple[Path, Path]) -> None:
    image = build_plugin(docker_client, "test/memory-hog")
    code, _, _, oom = run_sandboxed(docker_client, image, *dirs, mem_limit="256m", timeout=60)
    assert (code, oom) == (137, True)
    assert not (dirs[1] / "results.json").exists()
