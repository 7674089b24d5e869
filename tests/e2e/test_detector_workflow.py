"""A radiologist's whole path through the real HTTP API, with every part real.

An admin gives bob and carol a group holding readPlugin / executePlugin / inputPersonalFeedback /
inputConsensualFeedback on the lung nodule detector (built from plugins/ and registered from its
image); bob uploads a phantom chest CT (pydicom, 3 nodules at known voxels) with
`POST /api/series/domain/:domain` (imported by a task: real Redis, in-process dramatiq worker),
runs the detector with `partialVolumeDescriptor: "auto"`, watches the job's event stream while a
real job manager (`job_manager.daemon.Daemon`, an asyncio task of this test) runs the container,
reads the lesion candidates and the attachments, and the feedback rules are walked through.

The API runs under uvicorn in a thread (an endless SSE stream cannot be read in-process); the
test talks to it over loopback HTTP only. About 7 s (plus ~3 s of fixtures) on 2 cores once the
sample image is in Docker's cache; the first build of the image adds a few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any

import httpx
import numpy as np
import pytest
import uvicorn
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from circus_api.app import create_app
from circus_api.settings import Settings
from job_manager import plugins
from job_manager.daemon import Daemon
from tests.circus_api.conftest import TOKENS
from tests.circus_api.tasks_harness import flush_redis, running_worker, wait_until
from tests.circus_fixtures import load_fixtures
from tests.conftest import free_port
from tests.docker_support import build_plugin, connect
from tests.plugins.phantom import Phantom, dicom_files, make_chest_phantom

pytestmark = [pytest.mark.docker, pytest.mark.slow]

DOMAIN = "vega.org"  # bob's and carol's (groups.yaml)
TOLERANCE_VOXELS = 2.0
CONSENSUAL_EXISTS = {"error": "A consensual feedback has been already registered."}
ROLES = ("readPlugin", "executePlugin", "inputPersonalFeedback", "inputConsensualFeedback")


@pytest.fixture
def e2e_settings(settings: Settings, redis_url: str) -> Settings:
    flush_redis(redis_url)
    return replace(settings, redis_url=redis_url, job_poll_seconds=0.1, job_stop_grace_seconds=2.0)


@contextlib.contextmanager
def live_api(settings: Settings) -> Iterator[str]:
    """The app under uvicorn on a free loopback port, plus a task worker; yields the API's URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started or not thread.is_alive(), timeout=30)
        assert server.started, "the API did not start"
        with running_worker(settings):  # after the lifespan: it installed the broker on our Redis
            yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextlib.asynccontextmanager
async def user_client(base_url: str, name: str) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": f"Bearer {TOKENS[name]}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as client:
        yield client


@contextlib.asynccontextmanager
async def running_job_manager(settings: Settings, db: AsyncDatabase) -> AsyncIterator[Daemon]:
    """A real job manager (Docker runner) as a task on this test's event loop."""
    daemon = Daemon(settings, db, slots=1)
    task = asyncio.create_task(daemon.run(), name="job-manager")
    try:
        yield daemon
    finally:
        daemon.request_stop()
        await asyncio.wait_for(task, timeout=30)


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """Server-sent events (comments skipped) as {"event": ..., "data": <parsed JSON>, "id"?}."""
    event: dict[str, Any] = {}
    async for line in response.aiter_lines():
        if line.startswith(":"):
            continue
        if not line:
            if event:
                yield event
            event = {}
            continue
        field, _, value = line.partition(":")
        event[field] = json.loads(value) if field == "data" else value.strip()
    if event:
        yield event


async def upload_series(client: httpx.AsyncClient, files: dict[str, bytes]) -> dict[str, Any]:
    """`POST /series/domain/:domain`, then the import task until it ends."""
    response = await client.post(
        f"/series/domain/{DOMAIN}",
        files=[("files", (name, data, "application/dicom")) for name, data in files.items()],
    )
    assert response.status_code == 201, response.text
    task_id = response.json()["taskId"]
    deadline = time.monotonic() + 30
    while True:
        task = (await client.get(f"/tasks/{task_id}")).json()
        if task["status"] != "processing" or time.monotonic() > deadline:
            return dict(task)
        await asyncio.sleep(0.1)


def phantom_index(location: list[float], pvd: dict[str, int]) -> np.ndarray:
    """A candidate's voxel [x, y, k] in the job's volume -> [x, y, z] of the phantom.

    Slice k of the volume is image number start + k * delta (spec 5.3); the phantom's slice z
    was written as image z + 1."""
    x, y, k = location
    image_number = pvd["start"] + k * pvd["delta"]
    return np.array([x, y, image_number - 1], dtype=float)


def assert_candidates_at_the_nodules(candidates: list[dict[str, Any]], phantom: Phantom,
                                     pvd: dict[str, int]) -> None:
    assert len(candidates) == len(phantom.nodules), candidates
    found = [phantom_index(c["location"], pvd) for c in candidates]
    for nodule in phantom.nodules:
        distance = min(float(np.linalg.norm(f - np.array(nodule.center))) for f in found)
        assert distance <= TOLERANCE_VOXELS, (nodule, candidates)


async def test_a_radiologist_uploads_a_ct_runs_the_detector_and_gives_feedback(
    e2e_settings: Settings, sync_db: Database, db: AsyncDatabase
) -> None:
    load_fixtures(sync_db)
    docker_client = connect()
    try:
        plugin_id = build_plugin(docker_client, "lung-nodule-detector")  # cached by Docker's layers
        definition = await plugins.register(db, plugin_id, e2e_settings.plugin_cache_dir, docker_client)
    finally:
        docker_client.close()
    assert definition is not None and definition["pluginName"] == "Lung nodule detector"
    phantom = make_chest_phantom()  # 160 x 128 x 64, 0.8 x 0.8 x 1.5 mm, 3 nodules
    series_uid, files = dicom_files(phantom)

    with live_api(e2e_settings) as base_url:
        async with (user_client(base_url, "alice") as admin, user_client(base_url, "bob") as bob,
                    user_client(base_url, "carol") as carol):
            # --- the admin lets bob and carol use the detector
            group = {
                "groupName": "chest CAD", "privileges": [], "domains": [DOMAIN],
                "readProjects": [], "writeProjects": [], "addSeriesProjects": [], "viewPersonalInfoProjects": [],
                "moderateProjects": [], "manageJobs": [], "manageFeedback": [], "viewPersonalInfo": [],
                **{role: [plugin_id] for role in ROLES},
            }
            response = await admin.post("/admin/groups", json=group)
            assert response.status_code == 201, response.text
            group_id = response.json()["groupId"]
            for email, groups in (("bob@example.com", [2, group_id]), ("carol@example.com", [4, group_id])):
                response = await admin.patch(f"/admin/users/{email}", json={"groups": groups})
                assert response.status_code == 204, response.text
            assert plugin_id in [p["pluginId"] for p in (await bob.get("/plugins")).json()]

            # --- bob uploads the CT
            task = await upload_series(bob, files)
            assert task["status"] == "finished", task
            series = (await bob.get(f"/series/{series_uid}")).json()
            assert (series["images"], series["domain"], series["modality"]) == ("1-64", DOMAIN, "CT")

            # --- bob runs the detector on the whole series
            response = await bob.post("/plugin-jobs", json={
                "pluginId": plugin_id, "series": [{"seriesUid": series_uid, "partialVolumeDescriptor": "auto"}]})
            assert response.status_code == 201, response.text
            job_id = response.json()["jobId"]
            job = (await bob.get(f"/plugin-jobs/{job_id}")).json()
            assert job["status"] == "in_queue"
            pvd = job["series"][0]["partialVolumeDescriptor"]
            # image 64 is the most superior (largest z): slice 0 of the volume
            assert pvd == {"start": 64, "end": 1, "delta": -1}

            # --- the job page follows the job; the job manager starts once the page is open
            statuses: list[str] = []
            log_lines: list[str] = []
            async with (bob.stream("GET", f"/plugin-jobs/{job_id}/events", timeout=60) as stream,
                        contextlib.AsyncExitStack() as manager):
                assert stream.status_code == 200
                async for event in sse_events(stream):
                    if event.get("event") == "status":
                        statuses.append(event["data"]["status"])
                        if len(statuses) == 1:
                            await manager.enter_async_context(running_job_manager(e2e_settings, db))
                    elif event.get("event") == "log":
                        log_lines += event["data"]["lines"]
                # the stream ended by itself after the terminal status; the manager stops here
            assert statuses == ["in_queue", "processing", "finished"], statuses
            assert any("Job execution done." in line for line in log_lines), log_lines

            # --- the results: three candidates at the nodules, in the phantom's own voxel order
            job = (await bob.get(f"/plugin-jobs/{job_id}")).json()
            assert job["status"] == "finished", job.get("errorMessage")
            assert job["finishedAt"] is not None and job["errorMessage"] is None
            candidates = job["results"]["results"]["lesionCandidates"]
            assert all(c["volumeId"] == 0 for c in candidates)
            assert_candidates_at_the_nodules(candidates, phantom, pvd)

            attachments = (await bob.get(f"/plugin-jobs/{job_id}/attachment")).json()
            assert {"plugin-log.txt", "results.json"} <= set(attachments), attachments
            plugin_log = await bob.get(f"/plugin-jobs/{job_id}/attachment/plugin-log.txt")
            assert plugin_log.status_code == 200
            assert "Segmenting lungs" in plugin_log.text

            # --- feedback: bob's personal opinion, then the consensus; then nobody adds a personal one
            verdicts = [{"id": index, "value": 1} for index in range(len(candidates))]
            personal = {"data": {"lesionCandidates": verdicts, "fnInput": []},
                        "actionLog": [{"date": "2024-01-02T03:04:05.000Z", "action": "submit"}]}
            response = await bob.post(f"/plugin-jobs/{job_id}/feedback/personal", json=personal)
            assert response.status_code == 200, response.text
            personal_id = response.json()["feedbackId"]
            listed = (await bob.get(f"/plugin-jobs/{job_id}/feedback")).json()
            assert [(f["feedbackId"], f["userEmail"], f["isConsensual"]) for f in listed] == \
                [(personal_id, "bob@example.com", False)]
            assert listed[0]["data"] == personal["data"]

            response = await bob.post(f"/plugin-jobs/{job_id}/feedback/consensual",
                                      json={"data": {"lesionCandidates": verdicts, "fnInput": []}})
            assert response.status_code == 200, response.text
            listed = (await carol.get(f"/plugin-jobs/{job_id}/feedback")).json()
            assert [f["isConsensual"] for f in listed] == [False, True]

            response = await carol.post(f"/plugin-jobs/{job_id}/feedback/personal", json=personal)
            assert (response.status_code, response.json()) == (400, CONSENSUAL_EXISTS)
            assert len((await bob.get(f"/plugin-jobs/{job_id}/feedback")).json()) == 2
