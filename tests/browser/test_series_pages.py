"""The series pages in a real browser: upload through the panel, the search, one series in the viewer.

The session's server already holds the head-first series (conftest uploads it); the test deletes
its document first, so the series the upload brings back is the one the page shows. Screenshots
of the pages go to docs/screenshots/.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CircusServer, shoot, signed_in
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID, fixture_files

pytestmark = pytest.mark.browser
# the viewer has its metadata (not only the first slice drawn early) and a plane on screen
VIEWER_READY = (
    "() => window.circusViewer && window.circusViewer.metadata && !window.circusViewer.metadata.provisional"
    " && window.circusViewer.valueAt(0, 0) !== null"
)




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


def sign_in_calmly(page: Any, user: str, path: str) -> None:
    """Sign in on the tasks page first, as a reader would: tasks that failed before the test
    (the fixtures' stale task, the conftest's refused upload) count as seen, so the header's
    indicator only announces what the test does."""
    signed_in(page, user, next_path="/tasks")
    wait_for_table(page)
    page.goto(path)
    wait_for_table(page)


def test_uploading_files_shows_progress_then_the_series_opens_in_the_viewer(
    page: Any, circus_server: CircusServer
) -> None:
    circus_server.db.series.delete_one({"seriesUid": HEAD_FIRST_UID})
    sign_in_calmly(page, "bob", "/series")
    assert page.locator(f"tr[data-key='{HEAD_FIRST_UID}']").count() == 0

    page.keyboard.press("u")  # the upload panel's shortcut
    page.wait_for_selector("#dropzone")
    page.set_input_files("input.files-input", [str(p) for p in fixture_files("head-first")])
    # the files are read first: one series of 10 DICOM files, ready to send
    page.wait_for_selector("#upload-start:not([disabled])")
    assert page.inner_text("#upload-start") == "Upload 10 files"
    assert "head_first · 10 files" in page.inner_text(".upload-series")
    assert page.locator("#upload-file-table tbody tr").count() == 10
    assert page.input_value("#upload-domain") == "vega.org"

    page.click("#upload-start")
    page.wait_for_selector("#upload-progress .upload-step")  # send, then import: two progress bars
    page.wait_for_selector(".upload-series a[href^='/series/']", timeout=60_000)  # the import ended
    assert "Imported 10 entities from 10 files." in page.inner_text("#upload-progress")
    outcomes = page.locator("#upload-file-table td.outcome").all_inner_texts()
    assert outcomes == ["Imported"] * 10
    assert page.locator("#upload-progress .task-bar.finished").count() == 2
    shoot(page, "series-upload")

    # the table reloads with the series, newest first
    row = page.locator(f"tr[data-key='{HEAD_FIRST_UID}']")
    row.wait_for()
    assert "head_first" in row.inner_text()
    assert page.locator(".task-toggle").inner_text().strip() == "Tasks done"  # the header announces the import

    page.click(".upload-series a[href^='/series/']")
    page.wait_for_url(f"**/series/{HEAD_FIRST_UID}")
    page.wait_for_function(VIEWER_READY, timeout=30_000)
    assert page.evaluate("window.circusViewer.sliceCount()") == 10
    assert page.evaluate("window.circusViewer.getSlice()") == 0
    # the viewer has the focus: the keyboard scrolls through the slices
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.circusViewer.getSlice() === 2")
    page.wait_for_function("() => document.querySelector('.circus-viewer-status').textContent.includes('3/10')")
    page.keyboard.press("End")
    page.wait_for_function("() => window.circusViewer.getSlice() === 9")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("() => window.circusViewer.getSlice() === 8")
    facts = page.inner_text("#series-panel")
    assert "head-first" in facts  # the orientation, from the API
    assert "vega.org" in facts
    page.keyboard.press("Home")
    page.keyboard.press("PageDown")
    page.wait_for_function("() => window.circusViewer.getSlice() === 9")
    page.keyboard.press("PageUp")
    page.wait_for_function("() => window.circusViewer.getSlice() === 0")
    for _ in range(4):
        page.keyboard.press("ArrowDown")
    page.wait_for_function("() => window.circusViewer.getSlice() === 4")
    page.wait_for_timeout(300)
    shoot(page, "series-detail")


def test_the_series_search_filters_and_pages(page: Any) -> None:
    sign_in_calmly(page, "bob", "/series")
    rows = page.locator("table.grid tbody tr[data-key]")
    assert rows.count() == 5  # vega.org and altair.org
    assert page.locator("table.grid thead").inner_text().strip().startswith("Patient")  # bob sees patient information
    shoot(page, "series-list")

    page.select_option("select[name=modality]", "MR")
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 2")
    assert "modality=MR" in page.url  # the filters are in the address
    page.fill("input[name=description]", "HEAD")  # contains, case-insensitive
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 1")
    assert page.locator(f"tr[data-key='{HEAD_FIRST_UID}']").count() == 1
    page.fill("input[name=description]", "")
    page.select_option("select[name=modality]", "")
    page.fill("input[name=from]", "2018-02-16")
    page.fill("input[name=to]", "2018-02-16")
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 2")
    page.fill("input[name=from]", "")
    page.fill("input[name=to]", "")
    page.fill("input[name=patientName]", "Koume")
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 1")
    assert "111.222.333.444.888" in page.inner_text("table.grid tbody")

    # keyboard: the cursor moves with j, Enter opens the row
    page.fill("input[name=patientName]", "")
    page.wait_for_function("() => document.querySelectorAll('table.grid tbody tr[data-key]').length === 5")
    page.locator("input[name=patientName]").blur()
    page.keyboard.press("j")
    page.keyboard.press("Enter")
    page.wait_for_url("**/series/*")


def test_a_file_that_is_not_dicom_is_not_sent_and_says_why(page: Any, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not an image\n")
    signed_in(page, "bob", next_path="/series")
    page.click("#upload-toggle")
    page.set_input_files("input.files-input", [str(notes), str(fixture_files("foot-first")[0])])
    page.wait_for_selector("#upload-start:not([disabled])")
    assert page.inner_text("#upload-start") == "Upload 1 file"
    rows = page.locator("#upload-file-table tbody tr")
    assert rows.count() == 2
    texts = rows.all_inner_texts()
    assert any("notes.txt" in t and "Not DICOM: not sent" in t for t in texts)
    page.click("#upload-start")
    page.wait_for_selector(".upload-series a[href^='/series/']", timeout=60_000)
    assert "Imported 1 entities from 1 files." in page.inner_text("#upload-progress")


def test_a_user_without_domains_cannot_upload(page: Any) -> None:
    signed_in(page, "guest", next_path="/series")
    wait_for_table(page)
    assert page.locator("#upload-toggle").count() == 0
    assert "no DICOM domain" in page.inner_text("table.grid tbody")
