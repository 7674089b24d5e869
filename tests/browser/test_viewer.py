"""The image viewer (static/js/viewer.js) in headless Chromium on a 512x512x300 CT.

Runs on the browser tests' `circus_server` (tests/browser/conftest.py): a synthetic head-first CT
is written into its DICOM folder and registered as a sirius.org series, which alice sees. The
page is circus_api/web/viewer_test.html (the debug-mode `/viewer-test/:uid` page), served at that
URL by Playwright, since the shared server does not run in debug mode; it authenticates with
alice's fixture token. Besides the behaviour (value under the cursor, presets, reformats,
overlays), the speed test prints the time to the first slice and slices per second while
scrolling. Only generous bounds are asserted: the numbers are for the report, the machine is
shared.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from circus_api.imaging.dicom_files import delete_series, write_image
from circus_api.imaging.labels import pack_label
from tests.browser.conftest import CircusServer, canvas_pixel
from tests.circus_api.conftest import TOKENS
from tests.circus_api.imaging.fixture_files import HEAD_FIRST_UID
from tests.circus_api.imaging.synthetic import make_ct_series

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGE = Path(__file__).resolve().parents[2] / "circus_api" / "web" / "viewer_test.html"
UID = "1.2.826.0.1.3680043.8.498.512300"
SIZE, DEPTH = 512, 300
Page = Any


@pytest.fixture(scope="module")
def ct(circus_server: CircusServer) -> Iterator[np.ndarray]:
    """The 512x512x300 CT (noisy, so every voxel has its own value) in the server's DICOM folder;
    returns its HU (z, y, x) in image-number order."""
    series = make_ct_series(DEPTH, SIZE, series_uid=UID, noise=25)
    for number, content in series.files.items():
        write_image(circus_server.data_dir / "dicom", UID, number, content)
    yield series.hu
    delete_series(circus_server.data_dir / "dicom", UID)


@pytest.fixture
def hu(circus_server: CircusServer, ct: np.ndarray) -> Iterator[np.ndarray]:
    """The series document, for one test (other browser tests reset the series collection)."""
    circus_server.db["series"].replace_one({"seriesUid": UID}, {
        "seriesUid": UID, "studyUid": "1.2.826.0.1.3680043.8.498.5123", "width": SIZE, "height": SIZE,
        "images": f"1-{DEPTH}", "modality": "CT", "domain": "sirius.org", "seriesDescription": "synthetic 512x512x300",
    }, upsert=True)
    yield ct
    circus_server.db["series"].delete_one({"seriesUid": UID})


@pytest.fixture
def browser_context(chromium: Any, circus_server: CircusServer) -> Iterator[Any]:
    context = chromium.new_context(base_url=circus_server.url, viewport={"width": 900, "height": 800})
    context.set_default_timeout(15_000)
    html = PAGE.read_text()
    context.route("**/viewer-test/**", lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    try:
        yield context
    finally:
        context.close()


def open_viewer(context: Any, query: str = "", uid: str = UID, user: str = "alice", error: str = "") -> Page:
    page = context.new_page()
    page.goto(f"/viewer-test/{uid}{query}#token={TOKENS[user]}")
    page.wait_for_function("document.body.dataset.ready || document.body.dataset.error", timeout=30_000)
    assert error in page.evaluate("document.body.dataset.error || ''")
    return page


def wait_rendered(page: Page, axis: str, index: int) -> None:
    page.wait_for_function(
        "([axis, index]) => viewer.getAxis() === axis && viewer.getSlice() === index && viewer.valueAt(0, 0) !== null",
        arg=[axis, index], timeout=15_000,
    )
    next_frame(page)


def next_frame(page: Page) -> None:
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


def count_pixels(page: Page, condition: str) -> int:
    """Pixels of the canvas where `condition` (on r, g, b) holds; the CT itself is grey, so a
    colour condition counts overlay pixels."""
    return int(page.evaluate(
        f"""() => {{
            const canvas = document.querySelector(".circus-viewer-canvas");
            const d = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
            let n = 0;
            for (let i = 0; i < d.length; i += 4) {{
                const r = d[i], g = d[i + 1], b = d[i + 2];
                if ({condition}) n++;
            }}
            return n;
        }}"""
    ))


MAGENTA = "r > g + 80 && b > g + 80"
GREEN = "g > r + 80 && g > b + 80"
YELLOW = "r > b + 80 && g > b + 80"


def client_point(page: Page, i: int, j: int) -> dict[str, float]:
    return dict(page.evaluate("([i, j]) => viewer.imageToClient(i, j)", [i, j]))


# ---- performance --------------------------------------------------------------------------------

SCROLL = """async (count) => {
    // every slice shown in turn, as fast as the viewer draws them (an arrow key held down)
    const v = window.viewer;
    const start = v.getSlice();
    const t0 = performance.now();
    for (let k = 1; k <= count; k++) {
        await new Promise((resolve) => {
            const off = v.on("render", (d) => { if (d.index === start + k) { off(); resolve(); } });
            v.setSlice(start + k);
        });
    }
    return performance.now() - t0;
}"""

FETCH = """async ([uid, token, first, count]) => {
    // raw slice fetches, 4 at a time as the viewer's prefetcher makes them, bypassing every cache
    const t0 = performance.now();
    let next = first;
    const worker = async () => {
        while (next < first + count) {
            const i = next++;
            const headers = {Authorization: `Bearer ${token}`};
            const r = await fetch(`/rs/series/${uid}/slice/${i}`, {cache: "no-store", headers});
            new Int16Array(await r.arrayBuffer());
        }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    return performance.now() - t0;
}"""


ALL_LOADED = f"Array.from({{length: {DEPTH}}}, (_, i) => viewer._planes.has(viewer._key('axial', i))).every(Boolean)"


def test_viewer_speed_on_512x512x300(browser_context: Any, hu: np.ndarray) -> None:
    # the first page on a fresh server: nothing cached anywhere (the files are in the OS cache)
    page = open_viewer(browser_context)
    timings = page.evaluate("viewer.timings")
    since_navigation = timings["created"] + timings["firstSlice"]
    assert page.evaluate("viewer.metadata.size") == [SIZE, SIZE, DEPTH]

    # scrolling at once, while the viewer is still fetching ahead
    scrolled = 120
    cold_ms = page.evaluate(SCROLL, scrolled)
    page.wait_for_function(ALL_LOADED, timeout=60_000)
    loaded_at = page.evaluate("performance.now()")
    page.evaluate("viewer.setSlice(0)")
    wait_rendered(page, "axial", 0)
    warm_ms = page.evaluate(SCROLL, DEPTH - 1)
    page.close()

    # a second page on the now warm server (metadata cached), as on a second visit
    warm = open_viewer(browser_context, "?slice=150")
    warm_first = warm.evaluate("viewer.timings.firstSlice")
    fetched = 100
    fetch_ms = warm.evaluate(FETCH, [UID, TOKENS["alice"], 150, fetched])
    warm.close()
    print(
        f"\nviewer 512x512x300: first slice {timings['firstSlice']:.0f} ms after createViewer "
        f"({since_navigation:.0f} ms after navigation; metadata {timings['metadata']:.0f} ms; "
        f"second visit {warm_first:.0f} ms); "
        f"scrolling at once {scrolled / cold_ms * 1000:.1f} slices/s ({scrolled} slices, every one drawn); "
        f"whole series in the browser {loaded_at / 1000:.1f} s after navigation, then scrolling "
        f"{(DEPTH - 1) / warm_ms * 1000:.1f} slices/s; raw single-slice fetches {fetched / fetch_ms * 1000:.0f}/s"
    )
    assert timings["firstSlice"] < 5000
    assert scrolled / cold_ms * 1000 > 5 and (DEPTH - 1) / warm_ms * 1000 > 10


# ---- behaviour ------------------------------------------------------------------------------------


def test_value_under_the_cursor_and_scrolling(browser_context: Any, hu: np.ndarray) -> None:
    page = open_viewer(browser_context)
    # wheel and keys move through the slices
    status = page.locator(".circus-viewer-status")
    canvas = page.locator(".circus-viewer-canvas")
    canvas.hover()
    page.mouse.wheel(0, 100)
    page.wait_for_function("viewer.getSlice() === 1")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("PageDown")
    page.wait_for_function("viewer.getSlice() === 12")
    page.keyboard.press("ArrowUp")
    page.wait_for_function("viewer.getSlice() === 11")

    for x, y, z in ((256, 256, 150), (100, 300, 37), (371, 256, 150)):
        page.evaluate("([x, y, z]) => viewer.goTo({x, y, z})", [x, y, z])
        wait_rendered(page, "axial", z)
        point = client_point(page, x, y)
        page.mouse.move(point["x"], point["y"])
        expected = int(hu[z, y, x])
        page.wait_for_function(
            "(v) => document.querySelector('.circus-viewer-status').dataset.value === String(v)", arg=expected
        )
        text = status.text_content() or ""
        assert f"x {x} y {y} z {z}" in text and f"HU {expected}" in text, text
        assert f"Axial {z + 1}/{DEPTH}" in text
        assert f"z {float(np.round(-300 + (DEPTH - 1 - z) * 1.25, 2)):.2f} mm" in text  # head first
    page.close()


def test_presets_change_the_pixels(browser_context: Any, hu: np.ndarray) -> None:
    page = open_viewer(browser_context, "?slice=150")
    canvas = page.locator(".circus-viewer-canvas")
    canvas.click()
    water = client_point(page, 256, 120)  # inside the water cylinder, away from the spheres
    air = client_point(page, 5, 5)
    assert page.evaluate("viewer.getWindow()") == {"level": 40, "width": 400}  # CT default: mediastinum
    mediastinum = canvas_pixel(page, water["x"], water["y"])
    assert canvas_pixel(page, air["x"], air["y"])[0] == 0  # air is black at 40/400
    page.keyboard.press("1")  # lung
    page.wait_for_function("viewer.getWindow().level === -600")
    next_frame(page)
    lung = canvas_pixel(page, water["x"], water["y"])
    lung_air = canvas_pixel(page, air["x"], air["y"])
    # water at 40/400 is mid grey (~102), at -600/1500 near white (~230); air -1000 gives ~60
    assert 70 < mediastinum[0] < 135 and lung[0] > 190 and 30 < lung_air[0] < 90, (mediastinum, lung, lung_air)
    page.keyboard.press("3")  # bone
    page.wait_for_function("document.querySelector('.circus-viewer-status').textContent.includes('W 1800 L 400')")
    # right-drag changes the window
    page.mouse.move(water["x"], water["y"])
    page.mouse.down(button="right")
    page.mouse.move(water["x"] + 100, water["y"] + 50, steps=5)
    page.mouse.up(button="right")
    window = page.evaluate("viewer.getWindow()")
    assert window["width"] > 1800 and window["level"] > 400
    page.close()


def test_reformats(browser_context: Any, hu: np.ndarray) -> None:
    page = open_viewer(browser_context, "?slice=150")
    page.locator(".circus-viewer-canvas").click()
    page.keyboard.press("c")
    wait_rendered(page, "coronal", 256)
    assert page.evaluate("viewer.sliceCount()") == SIZE
    assert page.evaluate("[viewer.valueAt(300, 7), viewer.valueAt(10, 299)]") == [hu[7, 256, 300], hu[299, 256, 10]]
    page.keyboard.press("s")
    wait_rendered(page, "sagittal", 256)
    assert page.evaluate("viewer.valueAt(123, 45)") == hu[45, 123, 256]
    page.keyboard.press("a")
    wait_rendered(page, "axial", 150)
    page.close()


def test_candidates_and_labels_are_drawn(browser_context: Any, hu: np.ndarray, circus_server: CircusServer) -> None:
    # a voxel label: a 20x10x3 box at (200, 300, 148), stored as a blob
    mask = np.zeros((3, 10, 20), dtype=bool)
    mask[:, 2:8, 5:15] = True
    blob = pack_label(mask)
    digest = hashlib.sha1(blob).hexdigest()
    response = httpx.put(f"{circus_server.url}/api/blob/{digest}", content=blob,
                         headers={"Authorization": f"Bearer {TOKENS['alice']}",
                                  "Content-Type": "application/octet-stream"})
    assert response.status_code == 201, response.text

    page = open_viewer(browser_context, "?slice=150")
    assert count_pixels(page, MAGENTA) == 0 and count_pixels(page, GREEN) == 0
    page.evaluate("""() => {
        window.selected = null;
        viewer.setCandidates([{location: [256, 256, 150], confidence: 0.87, rank: 1},
                              {location: [100, 100, 20], confidence: 0.5, rank: 2}],
                             {onSelect: (c) => { window.selected = c.rank; }});
    }""")
    next_frame(page)
    assert count_pixels(page, MAGENTA) > 50  # the marker and its "1 (0.87)"
    # a click on the marker selects the candidate
    centre = client_point(page, 256, 256)
    page.mouse.click(centre["x"], centre["y"])
    assert page.evaluate("window.selected") == 1
    # goTo moves to the other candidate's slice
    page.evaluate("viewer.goTo({x: 100, y: 100, z: 20})")
    wait_rendered(page, "axial", 20)
    assert count_pixels(page, MAGENTA) > 50
    page.evaluate("viewer.setCandidates([])")

    # voxel labels are tinted masks on the slices of their box; a rectangle is on its z only
    page.evaluate(
        """(hash) => viewer.setLabels([
            {type: "voxel",
             data: {voxels: hash, origin: [200, 300, 148], size: [20, 10, 3], color: "#00ff00", alpha: 1}},
            {type: "rectangle", data: {min: [70, 70], max: [140, 105], z: 148 * 1.25, color: "#ffff00"}},
        ])""",
        digest,
    )
    for z, voxels, rectangle in ((147, False, False), (148, True, True), (150, True, False), (151, False, False)):
        page.evaluate(f"viewer.setSlice({z})")
        wait_rendered(page, "axial", z)
        assert (count_pixels(page, GREEN) > 20) == voxels, z
        assert (count_pixels(page, YELLOW) > 20) == rectangle, z
    # the mask sits where the box's voxels are: (205..214, 302..307)
    inside, outside = client_point(page, 210, 305), client_point(page, 210, 301)
    page.evaluate("viewer.setSlice(149)")
    wait_rendered(page, "axial", 149)
    r, g, b, _ = canvas_pixel(page, inside["x"], inside["y"])
    assert g > r + 80, (r, g, b)
    r, g, b, _ = canvas_pixel(page, outside["x"], outside["y"])
    assert abs(g - r) < 30, (r, g, b)
    page.close()


def test_an_mr_series_and_a_refusal(browser_context: Any, circus_server: CircusServer) -> None:
    # CIRCUS's head-first MR, uploaded by bob into vega.org: stored uint16, its own DICOM window
    page = open_viewer(browser_context, uid=HEAD_FIRST_UID, user="bob", query="?slice=middle")
    assert page.evaluate("[viewer.metadata.dtype, viewer.metadata.hounsfield, viewer.sliceCount()]") == [
        "uint16", False, 10]
    assert page.evaluate("viewer.getWindow()") == {"level": 567, "width": 1205}
    wait_rendered(page, "axial", 5)
    point = client_point(page, 160, 130)
    page.mouse.move(point["x"], point["y"])
    page.wait_for_function("document.querySelector('.circus-viewer-status').textContent.includes('value ')")
    page.close()
    # alice is not in vega.org: the viewer shows the API's refusal
    page = open_viewer(browser_context, uid=HEAD_FIRST_UID, user="alice",
                       error="You do not have privilege to access this series.")
    assert "You do not have privilege" in (page.locator(".circus-viewer-error").text_content() or "")
    page.close()
