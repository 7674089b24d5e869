"""The plug-in job pages in a real browser, with a real job manager running a real plug-in.

The session's `circus_server` runs `circus serve` and `circus job-manager` (Docker runner). This
module builds the lung nodule detector sample (tests/docker_support.py), registers it in the
server's database, plus a throttled variant of it (the same detector whose output lines are
released one every ~1.5 s, so that a running job can be watched), gives bob and carol a group
with readPlugin / executePlugin / manageJobs / inputPersonalFeedback / inputConsensualFeedback
on both, and uploads a phantom chest CT with 3 nodules (tests/plugins/phantom.py) as bob.

Bob then starts the detector from /jobs/new, watches the job finish, reviews the 3 candidates
(the viewer follows the chosen row), marks them and a missed lesion, registers his personal
feedback; carol's personal opinion comes through the API; bob registers the consensual one.
Screenshots (1280x800) go to docs/screenshots/jobs-*.png.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import docker
import httpx
import pytest

from circus_api.db.documents import utcnow
from job_manager.plugins import build_definition
from tests.browser.conftest import CircusServer, shoot, signed_in
from tests.docker_support import PLUGINS_DIR, build_plugin, connect
from tests.plugins.phantom import dicom_files, make_chest_phantom

pytestmark = [pytest.mark.browser, pytest.mark.docker, pytest.mark.slow]

DOMAIN = "vega.org"
ROLES = ("readPlugin", "executePlugin", "manageJobs", "inputPersonalFeedback", "inputConsensualFeedback")
JOB_TIMEOUT_MS = 180_000
SLOW_SECONDS_PER_LINE = 1.5
SLOW_VERSION = "1.0.1"


@dataclass(frozen=True)
class JobWorld:
    plugin_id: str
    slow_plugin_id: str
    series_uid: str


def _slow_image(client: docker.DockerClient, detector_id: str) -> str:
    """The detector with its output throttled: each line is let through after a pause, and the
    container ends when the last line is out (results.json is written by then)."""
    script = (
        "python3 /app/detector.py /circus/in /circus/out | "
        f'while IFS= read -r line; do printf "%s\\n" "$line"; sleep {SLOW_SECONDS_PER_LINE}; done'
    )
    dockerfile = f"FROM {detector_id}\nCMD {json.dumps(['sh', '-c', script])}\n"
    context = io.BytesIO()
    with tarfile.open(fileobj=context, mode="w") as tar:
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile.encode())
        tar.addfile(info, io.BytesIO(dockerfile.encode()))
    image, _ = client.images.build(fileobj=io.BytesIO(context.getvalue()), custom_context=True, rm=True, forcerm=True,
                                   network_mode="none", tag=f"circus-test-slow-detector:{SLOW_VERSION}")
    return str(image.id).removeprefix("sha256:")


def _register(server: CircusServer, plugin_id: str, **changes: Any) -> None:
    manifest = json.loads((PLUGINS_DIR / "lung-nodule-detector" / "plugin.json").read_text())
    definition = build_definition(plugin_id, {**manifest, **changes})
    now = utcnow()
    server.db.pluginDefinitions.delete_many({"pluginId": plugin_id})
    server.db.pluginDefinitions.insert_one({**definition, "createdAt": now, "updatedAt": now})


def _upload(client: httpx.Client, files: dict[str, bytes]) -> None:
    response = client.post(f"/api/series/domain/{DOMAIN}",
                           files=[("files", (name, data, "application/dicom")) for name, data in files.items()])
    assert response.status_code == 201, response.text
    task_id = response.json()["taskId"]
    deadline = time.monotonic() + 90
    while True:
        task = client.get(f"/api/tasks/{task_id}").json()
        if task["status"] != "processing":
            assert task["status"] == "finished", task
            return
        assert time.monotonic() < deadline, task
        time.sleep(0.2)


@pytest.fixture(scope="module")
def world(circus_server: CircusServer) -> Iterator[JobWorld]:
    docker_client = connect()
    try:
        plugin_id = build_plugin(docker_client, "lung-nodule-detector")
        slow_id = _slow_image(docker_client, plugin_id)
    finally:
        docker_client.close()
    circus_server.reset()
    _register(circus_server, plugin_id)
    _register(circus_server, slow_id, version=SLOW_VERSION,
              description="The lung nodule detector, its progress slowed down for watching a job run.")
    with circus_server.api("alice") as admin:
        group = {
            "groupName": "chest CAD", "privileges": [], "domains": [DOMAIN],
            "readProjects": [], "writeProjects": [], "addSeriesProjects": [], "viewPersonalInfoProjects": [],
            "moderateProjects": [], "manageFeedback": [], "viewPersonalInfo": [],
            **{role: [plugin_id, slow_id] for role in ROLES},
        }
        response = admin.post("/api/admin/groups", json=group)
        assert response.status_code == 201, response.text
        group_id = response.json()["groupId"]
        for email, groups in (("bob@example.com", [2, group_id]), ("carol@example.com", [4, group_id])):
            response = admin.patch(f"/api/admin/users/{email}", json={"groups": groups})
            assert response.status_code == 204, response.text
    series_uid, files = dicom_files(make_chest_phantom())
    with circus_server.api("bob") as bob:
        _upload(bob, files)
    yield JobWorld(plugin_id, slow_id, series_uid)
    _wait_for_our_jobs(circus_server, [plugin_id, slow_id])
    circus_server.reset()


def _wait_for_our_jobs(server: CircusServer, plugin_ids: list[str], timeout: float = 60) -> None:
    """Until no job of these plug-ins waits or runs (the reset must not pull a job from under the
    job manager)."""
    deadline = time.monotonic() + timeout
    active = {"pluginId": {"$in": plugin_ids}, "status": {"$in": ["in_queue", "processing"]}}
    while server.db.pluginJobs.count_documents(active) and time.monotonic() < deadline:
        time.sleep(0.5)



def watch_slices(page: Any) -> None:
    """Record the viewer's slice changes (its documented `circus-viewer:slicechange` event)."""
    page.evaluate("""() => {
        const stage = document.querySelector('.job-viewer-stage');
        window.__slices = [];
        stage.addEventListener('circus-viewer:slicechange', (e) => window.__slices.push(e.detail.index));
    }""")


def wait_for_slice(page: Any, index: int) -> None:
    page.wait_for_function("(i) => window.__slices.length && window.__slices.at(-1) === i", arg=index)


def candidate_rows(page: Any) -> Any:
    return page.locator("table.candidates tbody tr[data-id]")


def row_location(row: Any) -> list[int]:
    return [round(float(v)) for v in row.locator("td.location").inner_text().split(",")]


def feedback(server: CircusServer, job_id: str) -> list[dict[str, Any]]:
    with server.api("bob") as bob:
        response = bob.get(f"/api/plugin-jobs/{job_id}/feedback")
        assert response.status_code == 200, response.text
        return list(response.json())


def test_start_the_detector_review_its_candidates_and_give_feedback(
    page: Any, circus_server: CircusServer, world: JobWorld
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    signed_in(page, "bob")

    # --- start the job from /jobs/new
    page.goto(f"/jobs/new?series={world.series_uid}")
    page.locator(".plugin-choice", has_text="Lung nodule detector").filter(has_text="1.0.0").first.click()
    row = page.locator(".series-row")
    row.get_by_text("images 1-64").wait_for()
    row.get_by_text("Image range").click()
    row.get_by_label(f"to of {world.series_uid}").fill("70")
    row.locator(".field-error").get_by_text("Image 65 is not in this series").wait_for()
    assert page.locator("#submit-job").is_disabled()
    row.get_by_label(f"to of {world.series_uid}").fill("64")
    assert row.locator(".field-error").is_hidden()
    row.get_by_text("Auto").click()
    page.locator("#submit-job").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-z]{26}$"))
    job_id = page.url.rsplit("/", 1)[1]

    # --- the status follows the job until it is finished; then the results are shown
    page.wait_for_selector("#job-status [data-status=finished]", timeout=JOB_TIMEOUT_MS)
    rows = candidate_rows(page)
    rows.nth(2).wait_for()
    assert rows.count() == 3
    assert page.locator(".review-bar").get_by_text("0 of 3").is_visible()
    page.wait_for_function("() => document.querySelector('.circus-viewer-status')?.textContent.includes('/64')")

    # --- choosing a row moves the viewer to its candidate's slice (and rings it)
    watch_slices(page)
    third = row_location(rows.nth(2))
    rows.nth(2).locator("td.location").click()
    wait_for_slice(page, third[2])
    assert "selected" in (rows.nth(2).get_attribute("class") or "")
    page.wait_for_selector(".job-viewer-overlay .selected-ring")
    page.keyboard.press("k")
    page.keyboard.press("Enter")
    second = row_location(rows.nth(1))
    wait_for_slice(page, second[2])

    # --- judge the candidates: buttons and keys 1-3 (known TP / FP / pending)
    rows.nth(0).get_by_role("radio", name="known TP").click()
    rows.nth(1).locator("td.location").click()
    page.keyboard.press("2")  # FP, and on to the next candidate
    wait_for_slice(page, third[2])
    page.keyboard.press("3")  # pending
    assert page.locator(".review-bar").get_by_text("3 of 3").is_visible()

    # --- a missed lesion: mark a location in the image
    page.get_by_role("button", name="Mark a location").click()
    box = page.locator(".job-viewer canvas").bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.62, box["y"] + box["height"] * 0.45)
    page.locator(".locator-item", has_text="L1").wait_for()
    page.keyboard.press("Escape")
    page.wait_for_selector(".job-viewer-overlay .locator-mark")
    rows.nth(0).locator("td.location").click()
    page.wait_for_timeout(300)
    shoot(page, "jobs-review")

    # --- register the personal feedback
    page.get_by_role("button", name="Register personal feedback").click()
    page.locator("dialog[open]").get_by_role("button", name="Register").click()
    page.get_by_text("Your personal feedback is registered.").wait_for()
    page.locator(".feedback-table tbody tr").first.wait_for()
    entries = feedback(circus_server, job_id)
    assert [(e["userEmail"], e["isConsensual"]) for e in entries] == [("bob@example.com", False)]
    verdicts = {item["id"]: item["value"] for item in entries[0]["data"]["lesionCandidates"]}
    ids = [int(rows.nth(n).get_attribute("data-id")) for n in range(3)]
    assert [verdicts[i] for i in ids] == [1, 0, 2]
    located = entries[0]["data"]["fnInput"]
    assert len(located) == 1 and located[0]["volumeId"] == 0 and len(located[0]["location"]) == 3
    assert any(a["action"] == "register" for a in entries[0]["actionLog"])

    # --- carol's personal opinion (through the API): she calls the first two true positives
    with circus_server.api("carol") as carol:
        response = carol.post(f"/api/plugin-jobs/{job_id}/feedback/personal", json={"data": {
            "lesionCandidates": [{"id": ids[0], "value": 1}, {"id": ids[1], "value": 1}, {"id": ids[2], "value": 1}],
            "fnInput": []}, "actionLog": []})
        assert response.status_code == 200, response.text

    # --- consensual mode: pre-filled where the readers agree, each reader's choice shown
    page.reload()
    page.get_by_role("button", name="Continue with the consensual feedback").click()
    rows = candidate_rows(page)
    rows.nth(2).wait_for()
    first_readers = rows.nth(0).locator("td.readers")
    assert "bob" in first_readers.inner_text() and "carol" in first_readers.inner_text()
    assert rows.nth(0).locator(".choice-button.on").inner_text().startswith("TP")  # both said known TP
    assert rows.nth(1).locator(".choice-button.on").count() == 0  # FP vs TP: no agreement
    assert rows.nth(2).locator(".choice-button.on").count() == 0  # pending counts as FP, vs TP
    assert page.get_by_role("button", name="Register consensual feedback").is_disabled()
    rows.nth(1).locator("td.location").click()
    page.wait_for_timeout(300)
    shoot(page, "jobs-consensual")
    rows.nth(1).get_by_role("radio", name="TP").click()
    rows.nth(2).get_by_role("radio", name="TP").click()
    page.get_by_role("button", name="Register consensual feedback").click()
    page.locator("dialog[open]").get_by_role("button", name="Register").click()
    page.get_by_text("The consensual feedback is registered.").wait_for()
    assert page.locator(".review-note").get_by_text("The job's feedback is closed.").is_visible()
    assert page.locator(".choice-button:not([disabled])").count() == 0

    entries = feedback(circus_server, job_id)
    assert [(e["userEmail"], e["isConsensual"]) for e in entries] == [
        ("bob@example.com", False), ("carol@example.com", False), ("bob@example.com", True)]
    consensual = {item["id"]: item["value"] for item in entries[2]["data"]["lesionCandidates"]}
    assert [consensual[i] for i in ids] == [1, 1, 1]
    assert len(entries[2]["data"]["fnInput"]) == 1  # bob's mark, pooled
    assert errors == []


def test_a_running_job_is_followed_live_and_the_list_updates(
    page: Any, circus_server: CircusServer, world: JobWorld
) -> None:
    with circus_server.api("bob") as bob:
        series = [{"seriesUid": world.series_uid, "partialVolumeDescriptor": "auto"}]
        response = bob.post("/api/plugin-jobs", json={"pluginId": world.slow_plugin_id, "series": series})
        assert response.status_code == 201, response.text
        job_id = response.json()["jobId"]
    signed_in(page, "bob", next_path=f"/jobs/{job_id}")

    # --- progress, its message and the log tail arrive while the plug-in runs
    page.wait_for_selector("#job-status [data-status=processing]", timeout=JOB_TIMEOUT_MS)
    page.locator("#live-message").get_by_text("Finding dense blobs").wait_for(timeout=60_000)
    assert "%" in page.locator("#live-percent").inner_text()
    assert "Starting" in page.locator("#live-log").inner_text() or page.locator("#live-log").inner_text().strip()
    shoot(page, "jobs-running")

    # --- the list shows it live, and its status changes without a reload
    page.goto("/jobs")
    job_row = page.locator(f"tr[data-key='{job_id}']")
    job_row.locator("[data-status=processing]").wait_for()
    page.locator("#refresh-state").get_by_text("live").wait_for()
    page.wait_for_timeout(400)
    shoot(page, "jobs-list")
    job_row.locator("[data-status=finished]").wait_for(timeout=JOB_TIMEOUT_MS)

    # --- the finished job: its results; then it is invalidated (manageJobs)
    job_row.click()
    page.wait_for_url(f"**/jobs/{job_id}")
    candidate_rows(page).nth(2).wait_for()
    page.get_by_role("button", name="Invalidate…").click()
    page.locator("dialog[open]").get_by_role("button", name="Invalidate").click()
    page.wait_for_selector("#job-status [data-status=invalidated]")
    assert page.get_by_text("This job is invalidated").is_visible()


def test_a_failed_job_shows_its_error_first(page: Any, circus_server: CircusServer, world: JobWorld) -> None:
    now = utcnow()
    job_id = "01jfc0000000000000000fail1"
    circus_server.db.pluginJobs.insert_one({
        "jobId": job_id, "pluginId": world.plugin_id, "userEmail": "bob@example.com", "status": "failed",
        "series": [{"seriesUid": world.series_uid, "partialVolumeDescriptor": {"start": 64, "end": 1, "delta": -1}}],
        "errorMessage": "The container did not finish within the timeout of 900000 ms.", "results": None,
        "startedAt": now, "finishedAt": None, "feedbacks": [], "createdAt": now, "updatedAt": now,
    })
    signed_in(page, "bob", next_path=f"/jobs/{job_id}")
    page.wait_for_selector("#job-status [data-status=failed]")
    assert "timeout of 900000 ms" in page.locator(".job-failure .failure-message").inner_text()
    assert page.locator("#job-results").is_hidden()
    page.goto("/jobs?status=failed")
    page.locator(f"tr[data-key='{job_id}']").wait_for()


def test_a_waiting_job_can_be_cancelled(page: Any, circus_server: CircusServer, world: JobWorld) -> None:
    switch = circus_server.db.pluginJobManager
    switch.update_one({"key": "switch"}, {"$set": {"status": "stopped"}}, upsert=True)  # nobody claims it
    try:
        with circus_server.api("bob") as bob:
            series = [{"seriesUid": world.series_uid, "partialVolumeDescriptor": {"start": 1, "end": 64, "delta": 1}}]
            body = {"pluginId": world.slow_plugin_id, "series": series, "priority": 3}
            response = bob.post("/api/plugin-jobs", json=body)
            assert response.status_code == 201, response.text
            job_id = response.json()["jobId"]
        signed_in(page, "bob", next_path=f"/jobs/{job_id}")
        page.wait_for_selector("#job-status [data-status=in_queue]")
        assert page.locator("#live-state").inner_text() == "Waiting in the queue"
        page.get_by_role("button", name="Cancel job").click()
        page.locator("dialog[open]").get_by_role("button", name="Cancel job").click()
        page.wait_for_selector("#job-status [data-status=cancelled]")
        assert page.get_by_text("This job was cancelled before it ran.").is_visible()
        assert page.locator("#job-live").is_hidden()
    finally:
        switch.update_one({"key": "switch"}, {"$set": {"status": "running"}})
