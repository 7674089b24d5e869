"""The sample plug-ins through the real job path: registration from the built image, DICOM
series -> inputs.py -> DockerRunner sandbox -> results.py -> the job document and attachments."""

from __future__ import annotations

from pathlib import Path

import docker
import numpy as np
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_jobs
from circus_api.imaging.cs_volume import write_cs_volume
from circus_api.settings import Settings
from job_manager import plugins
from job_manager.execution import execute_job
from job_manager.runner import DockerRunner
from tests.docker_support import build_plugin
from tests.job_manager.conftest import job_document
from tests.plugins.phantom import make_chest_phantom, write_dicom_series


async def run_sample(db: AsyncDatabase, settings: Settings, client: docker.DockerClient, folder: str,
                     job_id: str) -> dict:
    phantom = make_chest_phantom()
    series_uid = write_dicom_series(settings.dicom_dir, phantom)
    image = build_plugin(client, folder)
    await plugins.register(db, image, settings.plugin_cache_dir, client)
    await db[plugin_jobs.COLLECTION].insert_one(job_document(job_id, image, series_uid, phantom.hu.shape[0]))
    status = await execute_job(db, settings, DockerRunner("test-samples"), {"jobId": job_id})
    job = await plugin_jobs.find(db, job_id)
    assert job is not None
    assert status == "finished", job.get("errorMessage")
    return job


@pytest.mark.docker
async def test_the_detector_finds_the_phantom_nodules_through_the_job_manager(
    db: AsyncDatabase, jm_settings: Settings, docker_client: docker.DockerClient
) -> None:
    job = await run_sample(db, jm_settings, docker_client, "lung-nodule-detector", "01jsampledetector0000000000")
    candidates = job["results"]["results"]["lesionCandidates"]
    nodules = make_chest_phantom().nodules
    assert len(candidates) == len(nodules)
    for nodule in nodules:
        assert min(np.linalg.norm(np.subtract(c["location"], nodule.center)) for c in candidates) <= 2
    log = (jm_settings.results_dir / job["jobId"] / "plugin-log.txt").read_text()
    assert '"message": "Segmenting lungs"' in log


@pytest.mark.docker
async def test_the_measurement_attachments_reach_the_results_store(
    db: AsyncDatabase, jm_settings: Settings, docker_client: docker.DockerClient
) -> None:
    job = await run_sample(db, jm_settings, docker_client, "measurement", "01jsamplemeasurement0000000")
    stats = job["results"]["results"]["statistics"][0]
    assert stats["size"] == [160, 128, 64]
    assert stats["spacing"] == [0.8, 0.8, 1.5]
    stored = sorted(p.name for p in (jm_settings.results_dir / job["jobId"]).iterdir())
    assert stored == ["histogram.png", "key-slice.png", "plugin-log.txt", "results.json"]
    assert (jm_settings.results_dir / job["jobId"] / "histogram.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_dicom_round_trip_keeps_the_voxels(tmp_path: Path) -> None:
    phantom = make_chest_phantom(shape_xyz=(40, 32, 6), nodules=[], vessels=[])
    uid = write_dicom_series(tmp_path, phantom)
    write_cs_volume(tmp_path, uid, {"start": 1, "end": 6, "delta": 1}, tmp_path, 0)
    voxels = np.fromfile(tmp_path / "0.raw", "<i2").reshape(phantom.hu.shape)
    assert np.array_equal(voxels, phantom.hu)
