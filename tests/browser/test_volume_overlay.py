"""The `VolumeOverlay` result display (spec 7.6) in a real browser: the plug-in's segmentation
volumes drawn over the job page's viewer (static/js/feedback/volume-overlay.js).

No Docker: the plug-in definition and a finished job are written straight into the database of
the browser tests' `circus_server`, and the job's files into its results folder, as the job
manager would leave them. The job is on CIRCUS's head-first and foot-first MR fixture series
(320x260x10 each, uploaded by the session into vega.org), so bob can read it once his group may
read the plug-in.

Its display strategy has one `VolumeOverlay` entry over five volumes: `liver` (the default
`liver.raw.gz`: one byte per voxel, gzipped), `tumour` (`rawFile` tumour-mask.bin: one bit per
voxel, not compressed), `other` (bits, on volume 1), `broken` (a file of the wrong length) and
`excluded` (left out by `only`). The checks read the viewer's canvas: a voxel inside a mask is
tinted with its colour from `colorMap`, one outside is grey, a hidden mask is not drawn, nor a
mask of the volume not shown.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from circus_api.db.documents import utcnow
from job_manager.plugins import build_definition
from tests.browser.conftest import CircusServer, canvas_pixel, shoot, signed_in
from tests.circus_api.imaging.fixture_files import FOOT_FIRST_UID, HEAD_FIRST_UID

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]

PLUGIN_ID = hashlib.sha256(b"circus volume overlay test plug-in").hexdigest()
JOB_ID = "01jfd0000000000000000vovl1"
WIDTH, HEIGHT, DEPTH = 320, 260, 10  # the head-first MR fixture series (columns, rows, images)
GREEN = "#00ff00"  # no alpha: drawn at 0.5
MAGENTA = "#ff00ffcc"
BLUE = "#0000ff"
Page = Any

# liver (about where the MR's liver is): an ellipsoid in a 90x120x6 box at (55, 50, 2), slices
# 2-7, centre (99.5, 109.5)
LIVER_ORIGIN, LIVER_SIZE = [55, 50, 2], [90, 120, 6]
# tumour: a disc of radius 10 on slice 7 only, in a 24x24x2 box at (80, 88, 6), centre (91.5, 99.5)
TUMOUR_ORIGIN, TUMOUR_SIZE = [80, 88, 6], [24, 24, 2]
# other, on volume 1: a full 20x40x4 box at (20, 90, 3), centre (29.5, 109.5, 4.5)
OTHER_ORIGIN, OTHER_SIZE = [20, 90, 3], [20, 40, 4]


def liver_mask() -> np.ndarray:
    """(z, y, x) booleans of the box."""
    sx, sy, sz = LIVER_SIZE
    z, y, x = np.mgrid[0:sz, 0:sy, 0:sx]
    return (((x - (sx - 1) / 2) / 43) ** 2 + ((y - (sy - 1) / 2) / 58) ** 2 + ((z - (sz - 1) / 2) / 3) ** 2) <= 1


def tumour_mask() -> np.ndarray:
    sx, sy, sz = TUMOUR_SIZE
    z, y, x = np.mgrid[0:sz, 0:sy, 0:sx]
    return (z == 1) & ((x - (sx - 1) / 2) ** 2 + (y - (sy - 1) / 2) ** 2 <= 10**2)


@pytest.fixture(scope="module")
def job_id(circus_server: CircusServer) -> Iterator[str]:
    db = circus_server.db
    strategy = [{
        "type": "VolumeOverlay", "feedbackKey": "segmentation", "caption": "Segmentation",
        "options": {
            "colorMap": {"liver": GREEN, "tumour": MAGENTA, "other": BLUE, "excluded": "#ffffff"},
            "only": ["liver", "tumour", "other", "broken"],
        },
    }]
    manifest = {"pluginName": "Organ segmenter", "version": "2.1.0", "description": "Liver and tumour masks.",
                "displayStrategy": strategy}
    now = utcnow()
    db.pluginDefinitions.insert_one({**build_definition(PLUGIN_ID, manifest), "createdAt": now, "updatedAt": now})
    db.groups.update_one({"groupId": 2}, {"$addToSet": {"readPlugin": PLUGIN_ID}})  # bob's group

    results = {"results": {"volumes": [
        {"name": "liver", "origin": LIVER_ORIGIN, "size": LIVER_SIZE},
        {"volumeId": 0, "name": "tumour", "origin": TUMOUR_ORIGIN, "size": TUMOUR_SIZE, "rawFile": "tumour-mask.bin"},
        {"volumeId": 1, "name": "other", "origin": OTHER_ORIGIN, "size": OTHER_SIZE, "rawFile": "other.bits"},
        {"name": "excluded", "origin": [0, 0, 0], "size": [WIDTH, HEIGHT, DEPTH]},
        {"name": "broken", "origin": [10, 10, 0], "size": [20, 20, 2], "rawFile": "broken.raw"},
    ]}}
    folder = circus_server.data_dir / "plugin-results" / JOB_ID
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results))
    (folder / "plugin-log.txt").write_text("segmenting...\ndone\n")
    (folder / "liver.raw.gz").write_bytes(gzip.compress(liver_mask().astype(np.uint8).tobytes()))
    (folder / "tumour-mask.bin").write_bytes(np.packbits(tumour_mask().ravel()).tobytes())
    (folder / "other.bits").write_bytes(np.packbits(np.ones(OTHER_SIZE[::-1], bool).ravel()).tobytes())
    (folder / "excluded.raw.gz").write_bytes(gzip.compress(np.ones(WIDTH * HEIGHT * DEPTH, np.uint8).tobytes()))
    (folder / "broken.raw").write_bytes(bytes(123))
    db.pluginJobs.insert_one({
        "jobId": JOB_ID, "pluginId": PLUGIN_ID, "userEmail": "bob@example.com", "status": "finished",
        "series": [{"seriesUid": uid, "partialVolumeDescriptor": {"start": 1, "end": DEPTH, "delta": 1}}
                   for uid in (HEAD_FIRST_UID, FOOT_FIRST_UID)],
        "errorMessage": None, "results": results, "startedAt": now, "finishedAt": now, "feedbacks": [],
        "createdAt": now, "updatedAt": now,
    })
    yield JOB_ID
    shutil.rmtree(folder, ignore_errors=True)


def next_frame(page: Page) -> None:
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))")


RECORD_RENDERS = 'document.addEventListener("circus-viewer:render", (e) => { window.__rendered = e.detail; }, true);'


def wait_for_slice(page: Page, index: int) -> None:
    """Until the viewer has drawn axial slice `index` (its documented "render" event, recorded by
    RECORD_RENDERS: a plane drawn, not the placeholder of one still loading)."""
    page.wait_for_function("(i) => window.__rendered?.axis === 'axial' && window.__rendered.index === i", arg=index)
    next_frame(page)


def client_point(page: Page, i: int, j: int) -> dict[str, float]:
    """Client coordinates of the centre of voxel (i, j) of the axial slice on screen (the viewer
    fits the square-pixel image into its canvas, centred, until zoomed); checked below against the
    voxel the viewer's status line reports under the mouse."""
    return dict(page.evaluate(
        """([i, j, w, h]) => {
            const canvas = document.querySelector(".job-viewer .circus-viewer-canvas");
            const rect = canvas.getBoundingClientRect();
            const s = Math.min(canvas.clientWidth / w, canvas.clientHeight / h);
            return {x: rect.left + (canvas.clientWidth - w * s) / 2 + s * (i + 0.5),
                    y: rect.top + (canvas.clientHeight - h * s) / 2 + s * (j + 0.5)};
        }""",
        [i, j, WIDTH, HEIGHT],
    ))


def rgb_at(page: Page, voxel: tuple[int, int]) -> tuple[int, int, int]:
    """The viewer canvas's colour at the centre of voxel (x, y) of the slice on screen."""
    point = client_point(page, *voxel)
    r, g, b, _ = canvas_pixel(page, point["x"], point["y"], ".job-viewer .circus-viewer-canvas")
    return r, g, b


def is_green(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return g > r + 80 and g > b + 80


def is_magenta(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return r > g + 80 and b > g + 80


def is_blue(rgb: tuple[int, int, int]) -> bool:
    r, g, b = rgb
    return b > r + 80 and b > g + 80


def is_grey(rgb: tuple[int, int, int]) -> bool:
    return max(rgb) - min(rgb) < 20


LIVER_CENTRE = (99, 109)
LIVER_EDGE = (99, 130)  # in the liver on slices 5 and 7, outside the tumour
TUMOUR_CENTRE = (91, 99)
OUTSIDE = (30, 109)  # left of the liver's box; in `other`'s, which is on volume 1


def test_the_segmentation_volumes_are_overlaid_and_can_be_hidden(page: Page, job_id: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_RENDERS)
    signed_in(page, "bob", next_path=f"/jobs/{job_id}")
    display = page.locator(".display-VolumeOverlay")
    display.get_by_role("heading", name="Segmentation").wait_for()
    items = display.locator(".overlay-item")
    liver = display.locator(".overlay-item[data-name=liver]")
    tumour = display.locator(".overlay-item[data-name=tumour]")
    broken = display.locator(".overlay-item[data-name=broken]")

    # --- the listed volumes (`only` leaves out `excluded`), loaded; the wrong length is an error
    liver.get_by_role("checkbox", name="Show liver").and_(page.locator(":enabled")).wait_for()
    tumour.get_by_role("checkbox", name="Show tumour").and_(page.locator(":enabled")).wait_for()
    assert items.evaluate_all("(els) => els.map((el) => el.dataset.name)") == ["liver", "tumour", "other", "broken"]
    assert display.get_by_text("excluded").count() == 0
    liver_voxels = int(liver_mask().sum())
    assert liver.locator(".overlay-state").inner_text() == f"{liver_voxels:,} voxels"
    assert tumour.locator(".overlay-state").inner_text() == f"{int(tumour_mask().sum()):,} voxels"
    assert "origin [55, 50, 2]" in liver.inner_text() and "size [90, 120, 6]" in liver.inner_text()
    link = liver.get_by_role("link", name="liver.raw.gz")
    assert link.get_attribute("href") == f"/api/plugin-jobs/{job_id}/attachment/liver.raw.gz"
    error = broken.locator(".field-error")
    error.wait_for()
    assert error.inner_text() == (
        "broken.raw: 123 bytes, expected 800 (1 byte per voxel) or 100 (1 bit per voxel) for size [20, 20, 2]")
    assert broken.get_by_role("checkbox").is_disabled()

    # --- the viewer opens on the middle slice (5): the liver is there, the tumour (slice 7) is not
    wait_for_slice(page, 5)
    centre = client_point(page, *LIVER_CENTRE)
    page.mouse.move(centre["x"], centre["y"])  # the status line tells the voxel under the mouse
    status = page.locator(".job-viewer .circus-viewer-status")
    page.wait_for_function("(el) => / x \\d+ y \\d+ z 5 /.test(el.textContent)", arg=status.element_handle())
    hovered = re.search(r" x (\d+) y (\d+) z 5 ", status.inner_text())
    assert hovered, status.inner_text()  # (the mouse event's position is whole pixels: within one voxel)
    assert abs(int(hovered[1]) - LIVER_CENTRE[0]) <= 1 and abs(int(hovered[2]) - LIVER_CENTRE[1]) <= 1, hovered
    assert is_green(rgb_at(page, LIVER_CENTRE)), rgb_at(page, LIVER_CENTRE)
    assert is_green(rgb_at(page, LIVER_EDGE)), rgb_at(page, LIVER_EDGE)
    assert is_grey(rgb_at(page, OUTSIDE)), rgb_at(page, OUTSIDE)
    assert not is_magenta(rgb_at(page, TUMOUR_CENTRE))

    # --- hidden, the liver is not drawn; shown again, it is
    liver.get_by_role("checkbox", name="Show liver").uncheck()
    next_frame(page)
    assert is_grey(rgb_at(page, LIVER_CENTRE)), rgb_at(page, LIVER_CENTRE)
    liver.get_by_role("checkbox", name="Show liver").check()
    next_frame(page)
    assert is_green(rgb_at(page, LIVER_CENTRE)), rgb_at(page, LIVER_CENTRE)

    # --- the tumour's name goes to its slice (its centre of mass, slice 7): both masks there
    tumour.get_by_role("button", name="tumour").click()
    wait_for_slice(page, 7)
    assert is_magenta(rgb_at(page, TUMOUR_CENTRE)), rgb_at(page, TUMOUR_CENTRE)
    assert is_green(rgb_at(page, LIVER_EDGE)), rgb_at(page, LIVER_EDGE)
    assert is_grey(rgb_at(page, OUTSIDE)), rgb_at(page, OUTSIDE)
    shoot(page, "job-volume-overlay")
    tumour.get_by_role("checkbox", name="Show tumour").uncheck()
    next_frame(page)
    assert is_green(rgb_at(page, TUMOUR_CENTRE)), rgb_at(page, TUMOUR_CENTRE)  # the liver under it
    assert is_green(rgb_at(page, LIVER_EDGE))
    liver.get_by_role("checkbox", name="Show liver").uncheck()
    next_frame(page)
    assert is_grey(rgb_at(page, TUMOUR_CENTRE)) and is_grey(rgb_at(page, LIVER_EDGE))

    # --- on another slice past both boxes nothing is drawn
    liver.get_by_role("checkbox", name="Show liver").check()
    tumour.get_by_role("checkbox", name="Show tumour").check()
    page.locator(".job-viewer .circus-viewer").focus()
    page.keyboard.press("End")
    wait_for_slice(page, DEPTH - 1)
    assert is_grey(rgb_at(page, LIVER_CENTRE)) and is_grey(rgb_at(page, TUMOUR_CENTRE))

    # --- `other` is on volume 1: not drawn on volume 0 (OUTSIDE is grey above); its name shows
    # volume 1 at its centre (slice 5), where the masks of volume 0 are not drawn
    other = display.locator(".overlay-item[data-name=other]")
    other.get_by_role("checkbox", name="Show other").and_(page.locator(":enabled")).wait_for()
    assert "volume 1" in other.inner_text()
    page.evaluate("window.__rendered = null")
    other.get_by_role("button", name="other").click()
    page.locator(".job-viewer-volumes .volume-tab.active", has_text="Volume 1").wait_for()
    wait_for_slice(page, 5)
    assert is_blue(rgb_at(page, OUTSIDE)), rgb_at(page, OUTSIDE)
    assert is_grey(rgb_at(page, LIVER_CENTRE)), rgb_at(page, LIVER_CENTRE)
    page.evaluate("window.__rendered = null")
    page.locator(".job-viewer-volumes").get_by_role("button", name="Volume 0").click()
    wait_for_slice(page, 5)
    assert is_green(rgb_at(page, LIVER_CENTRE)), rgb_at(page, LIVER_CENTRE)
    assert is_grey(rgb_at(page, OUTSIDE)), rgb_at(page, OUTSIDE)
    assert errors == []
