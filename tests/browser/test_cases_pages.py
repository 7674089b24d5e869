"""The case pages in a real browser: make a case from a series, view it with its labels and
revisions, edit its tags, export it as MHD from the case search and download the archive.

Screenshots of the case list, the case page and the tasks page go to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from circus_api.imaging.labels import pack_label
from tests.browser.conftest import CircusServer, shoot, signed_in
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID

pytestmark = pytest.mark.browser
# the viewer has its metadata (not only the first slice drawn early) and a plane on screen
VIEWER_READY = (
    "() => window.circusViewer && window.circusViewer.metadata && !window.circusViewer.metadata.provisional"
    " && window.circusViewer.valueAt(0, 0) !== null"
)

PROJECT = "8883fdef6f5144f50eb2a83cd34baa44"  # "Lung nodules": bob writes, moderates, reads



@pytest.fixture(autouse=True)
def fresh_state(circus_server: CircusServer) -> Iterator[None]:
    circus_server.reset()
    yield
    circus_server.reset()


def wait_for_table(page: Any) -> None:
    page.wait_for_function(
        "() => { const t = document.querySelector('.dt'); return t && !t.classList.contains('loading')"
        " && !t.textContent.includes('Loading…'); }"
    )


def wait_for_viewer(page: Any) -> None:
    page.wait_for_function(VIEWER_READY, timeout=30_000)


def sign_in_calmly(page: Any, user: str, path: str) -> None:
    """Sign in on the tasks page first, as a reader would: tasks that failed before the test
    (the fixtures' stale task, the conftest's refused upload) count as seen, so the header's
    indicator only announces what the test does."""
    signed_in(page, user, next_path="/tasks")
    wait_for_table(page)
    page.goto(path)


def make_case_through_the_series_page(page: Any) -> str:
    page.goto("/series")
    wait_for_table(page)
    page.check(f"tr[data-key='{HEAD_FIRST_UID}'] td.check input")
    page.click(".dt-bulk button:has-text('Make a case…')")
    dialog = page.locator("dialog[open]")
    assert dialog.locator("#f-projectId").input_value() == PROJECT
    assert "head_first" in dialog.locator("#f-series").inner_text()
    dialog.locator("#f-tags input[value=happy]").check()
    dialog.locator("button[type=submit]").click()
    page.wait_for_url("**/cases/*")
    return str(page.url.rsplit("/", 1)[1])


def add_a_labelled_revision(circus_server: CircusServer, case_id: str) -> None:
    """A second revision with a voxel label (a ball, slices 2 to 7) and a point, as a labelling
    client would post it."""
    z, y, x = np.mgrid[0:6, 0:50, 0:50]
    ball = (x - 24.5) ** 2 + (y - 24.5) ** 2 + ((z - 2.5) * 6) ** 2 < 24**2
    blob = pack_label(ball)
    digest = hashlib.sha1(blob).hexdigest()
    with circus_server.api("bob") as client:
        put = client.put(f"/api/blob/{digest}", content=blob, headers={"Content-Type": "application/octet-stream"})
        assert put.status_code == 201, put.text
        case = client.get(f"/api/cases/{case_id}").json()
        entry = case["revisions"][-1]["series"][0]
        labels = [
            {"type": "voxel", "name": "Nodule", "data": {"voxels": digest, "origin": [170, 70, 2], "size": [50, 50, 6],
                                                         "color": "#ff8800", "alpha": 0.6}},
            {"type": "point", "name": "Landmark", "data": {"location": [100.0, 80.0, 10.0], "color": "#00c0ff"}},
        ]
        body = {"description": "Nodule outlined", "attributes": {}, "status": "approved",
                "series": [{**entry, "labels": labels}]}
        posted = client.post(f"/api/cases/{case_id}/revision", json=body)
        assert posted.status_code == 201, posted.text


def test_a_case_is_made_from_a_series_and_shows_its_labels_and_revisions(
    page: Any, circus_server: CircusServer
) -> None:
    sign_in_calmly(page, "bob", "/series")
    case_id = make_case_through_the_series_page(page)
    wait_for_viewer(page)
    assert page.evaluate("window.circusViewer.sliceCount()") == 10
    assert "#1 (latest)" in page.inner_text("#revisions-panel")
    assert "no label" in page.inner_text("#labels-panel")
    assert page.is_checked("#tag-editor input[value=happy]")

    add_a_labelled_revision(circus_server, case_id)
    page.reload()
    wait_for_viewer(page)
    revisions = page.locator("#revisions-panel li")
    assert revisions.count() == 2
    assert "Nodule outlined" in revisions.nth(0).inner_text()
    labels = page.locator("#labels-panel .label-list li")
    assert labels.count() == 2
    assert "Nodule" in labels.nth(0).inner_text()
    assert page.inner_text("#case-status") == "approved"

    # "Go to" brings the label's slice; its colour is drawn over the image
    labels.nth(0).locator("button:has-text('Go to')").click()
    page.wait_for_function("() => window.circusViewer.getSlice() === 5")
    page.wait_for_timeout(300)
    orange = page.evaluate(
        """() => {
            const c = document.querySelector('.circus-viewer-canvas');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] > d[i + 2] + 60 && d[i] > d[i + 1] + 20) n++;
            return n;
        }"""
    )
    assert orange > 500

    # the first revision has no label; choosing it shows so, and the address keeps it
    revisions.nth(1).locator("button").click()
    assert "no label" in page.inner_text("#labels-panel")
    assert page.url.endswith("#revision=0")
    revisions.nth(0).locator("button").click()
    labels.nth(0).locator("button:has-text('Go to')").click()
    page.wait_for_timeout(300)

    # tags are saved with PUT /api/cases/:id/tags
    page.uncheck("#tag-editor input[value=happy]")
    page.check("#tag-editor input[value=ufo]")
    page.click("#tags-panel button:has-text('Save tags')")
    page.wait_for_function("() => document.querySelector('#tags-panel').textContent.includes('Saved.')")
    assert circus_server.db.clinicalCases.find_one({"caseId": case_id})["tags"] == ["ufo"]
    page.check("#tag-editor input[value=happy]")
    page.click("#tags-panel button:has-text('Save tags')")
    page.wait_for_function("() => document.querySelector('#tags-panel').textContent.includes('Saved.')")
    page.mouse.move(0, 0)
    shoot(page, "case-detail")


def test_cases_are_exported_as_mhd_from_the_search_and_downloaded(page: Any, circus_server: CircusServer) -> None:
    sign_in_calmly(page, "bob", "/series")
    case_id = make_case_through_the_series_page(page)
    add_a_labelled_revision(circus_server, case_id)

    page.goto("/cases")
    wait_for_table(page)
    row = page.locator(f"tr[data-key='{case_id}']")
    assert "happy" in row.inner_text()
    assert "approved" in row.inner_text()
    row.locator("td.check input").check()
    page.keyboard.press("e")  # the export shortcut
    dialog = page.locator("dialog[open]")
    dialog.wait_for()
    assert dialog.locator("#f-labelPackType input[value=isolated]").is_checked()
    assert dialog.locator("#f-compressionFormat input[value=tgz]").is_checked()
    dialog.locator("button[type=submit]").click()

    card = page.locator(".task-card[data-task-id]")
    card.wait_for()
    download = page.locator("#task-area a[data-download]")
    download.wait_for(timeout=60_000)  # the task ended: its download is offered
    assert "Exported 1 case(s)." in card.inner_text()
    page.locator(".task-toggle:has-text('1 download ready')").wait_for()  # and the header announces it
    shoot(page, "cases")

    with page.expect_download() as info:
        download.click()
    archive = info.value
    assert archive.suggested_filename == "download.tar.gz"
    data = Path(archive.path()).read_bytes()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        names = set(tar.getnames())
        header = tar.extractfile(f"{case_id}/vol000.mhd").read().decode()  # type: ignore[union-attr]
        raw = tar.getmember(f"{case_id}/vol000.raw")
    assert {f"{case_id}/data.json", f"{case_id}/vol000.mhd", f"{case_id}/vol000.raw",
            f"{case_id}/vol000-label000.mhd", f"{case_id}/vol000-label000.raw"} <= names
    assert "DimSize = 320 260 10\n" in header
    assert raw.size == 320 * 260 * 10 * 2

    # the tasks page lists the export with its download
    page.goto("/tasks")
    wait_for_table(page)
    first = page.locator("table.grid tbody tr[data-key]").first
    assert "Export a case as MHD" in first.inner_text()
    assert first.locator("a:has-text('Download .tar.gz')").count() == 1
    shoot(page, "tasks")


def test_exporting_needs_the_download_privilege(page: Any) -> None:
    # frank reads the project but lacks downloadVolume: no export action is offered
    signed_in(page, "frank", next_path="/cases")
    wait_for_table(page)
    page.locator("table.grid tbody tr[data-key] td.check input").first.check()
    bulk = page.inner_text(".dt-bulk")
    assert "Export MHD" not in bulk
    assert "Add to my list" in bulk


def test_a_missing_case_says_so(page: Any) -> None:
    signed_in(page, "bob", next_path="/cases/01nonexistentcase000000000")
    page.wait_for_selector(".empty-state")
    assert "Case not found" in page.inner_text(".empty-state")


def test_cases_go_into_a_new_my_list_from_the_table_and_the_list_shows_them(page: Any) -> None:
    signed_in(page, "carol", next_path="/cases")
    wait_for_table(page)
    rows = page.locator("table.grid tbody tr[data-key]")
    keys = [rows.nth(i).get_attribute("data-key") for i in range(2)]
    for i in range(2):
        rows.nth(i).locator("td.check input").check()
    page.click(".dt-bulk button:has-text('Add to my list…')")
    dialog = page.locator("dialog[open]")
    assert dialog.locator("h2").inner_text() == "Add 2 cases to a my list"
    dialog.locator("select").select_option("__new__")
    dialog.locator("input[name=newName]").fill("Follow-up")
    dialog.locator("button[type=submit]").click()
    banner = page.locator("#banner")
    banner.wait_for()
    assert "Added 2 cases to “Follow-up”." in banner.inner_text()

    banner.locator("a:has-text('Open the list')").click()
    page.wait_for_url("**/my-lists/*")
    wait_for_table(page)
    assert page.inner_text(".list-head h2") == "Follow-up"
    shown = {page.locator("table.grid tbody tr[data-key]").nth(i).get_attribute("data-key") for i in range(2)}
    assert shown == set(keys)
    assert "Patient" in page.inner_text("table.grid thead")  # carol may see the patients of this project

    # adding the same cases again changes nothing, and says so
    page.goto("/cases")
    wait_for_table(page)
    rows.nth(0).locator("td.check input").check()
    page.click(".dt-bulk button:has-text('Add to my list…')")
    dialog.locator("button[type=submit]").click()  # the last list used comes first
    page.locator("#banner:has-text('already in')").wait_for()
    assert "The case is already in “Follow-up”." in page.inner_text("#banner")

    # removing from the list page
    page.goto("/my-lists")
    page.click(".list-nav a:has-text('Follow-up')")
    wait_for_table(page)
    page.locator("table.grid tbody tr[data-key] td.check input").first.check()
    page.click(".dt-bulk button:has-text('Remove from the list')")
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 1")
