"""Fixtures of the job manager tests: a Docker client, tiny test plug-in images, a DICOM series.

Docker tests skip when no engine (or no `circus-plugin-base:bookworm`) is there, except under
`CI=true`, where they fail: CI must run them.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import docker
import pytest
from pydicom.uid import generate_uid

from circus_api.settings import Settings
from tests.circus_api.imaging.synthetic import write_ct_series

IN_CI = os.environ.get("CI", "").lower() == "true"
BASE_IMAGE = "circus-plugin-base:bookworm"
PLUGIN_SCRIPT = Path(__file__).parent / "plugin_image" / "behave.py"
MODES = ("succeed", "sandbox", "no_results", "invalid", "hang", "network", "symlink", "oom", "slow")


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the Docker tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the local engine; skips locally / fails in CI when no engine answers."""
    try:
        client = docker.from_env(timeout=60)
        client.ping()
    except Exception as exc:
        _unavailable(f"no Docker engine: {exc}")
    yield client
    client.close()


def _build_context(mode: str) -> bytes:
    dockerfile = (
        f"FROM {BASE_IMAGE}\n"
        "COPY behave.py /behave.py\n"
        "ENV SLOW_SECONDS=4\n"
        f'CMD ["python3", "/behave.py", "{mode}"]\n'
    )
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for name, data in (("Dockerfile", dockerfile.encode()), ("behave.py", PLUGIN_SCRIPT.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


@pytest.fixture(scope="session")
def plugin_images(docker_client: docker.DockerClient) -> dict[str, str]:
    """mode -> plug-in ID (the 64-hex image ID) of a test image built FROM the plug-in base.

    Tagged by content, so an unchanged script is not rebuilt by the next session.
    """
    try:
        docker_client.images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        _unavailable(f"{BASE_IMAGE} is missing (build it with plugins/base/build.sh)")
    digest = hashlib.sha256(PLUGIN_SCRIPT.read_bytes() + BASE_IMAGE.encode()).hexdigest()[:12]
    ids = {}
    for mode in MODES:
        tag = f"circus-test-job-manager:{mode.replace('_', '-')}-{digest}"
        try:
            image = docker_client.images.get(tag)
        except docker.errors.ImageNotFound:
            image, _ = docker_client.images.build(
                fileobj=io.BytesIO(_build_context(mode)), custom_context=True, tag=tag, rm=True,
                forcerm=True, network_mode="none",
            )
        ids[mode] = image.id.removeprefix("sha256:")
    return ids


def plugin_document(plugin_id: str, **run_configuration: Any) -> dict[str, Any]:
    return {
        "pluginId": plugin_id,
        "pluginName": "test-plugin",
        "version": "1.0.0",
        "type": "CAD",
        "description": "",
        "icon": {"glyph": "calc", "color": "#ffffff", "backgroundColor": "#008800"},
        "displayStrategy": [],
        "runConfiguration": {"timeout": 60, "gpus": "", **run_configuration},
    }


def job_document(job_id: str, plugin_id: str, series_uid: str, n_slices: int = 4) -> dict[str, Any]:
    return {
        "jobId": job_id,
        "pluginId": plugin_id,
        "series": [{"seriesUid": series_uid, "partialVolumeDescriptor": {"start": 1, "end": n_slices, "delta": 1}}],
        "userEmail": "alice@example.com",
        "status": "in_queue",
        "errorMessage": None,
        "results": None,
        "startedAt": None,
        "finishedAt": None,
        "feedbacks": [],
    }


@pytest.fixture
def jm_settings(settings: Settings) -> Settings:
    """The test settings with job-manager timings made short."""
    for path in (settings.dicom_dir, settings.results_dir, settings.job_work_dir):
        path.mkdir(parents=True, exist_ok=True)
    return replace(settings, job_poll_seconds=0.1, job_lease_seconds=2.0, job_stop_grace_seconds=1.0)


@pytest.fixture
def series_uid(jm_settings: Settings) -> str:
    """A 4-slice 16x16 synthetic CT series in the settings' DICOM repository."""
    uid = str(generate_uid())
    write_ct_series(jm_settings.dicom_dir / uid, 4, size=16, series_uid=uid)
    return uid
