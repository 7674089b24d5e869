"""`/rs/series/...`: the image viewer's pixel routes, on a synthetic CT and CIRCUS's head-first MR.

alice sees sirius.org (both test series live there), bob does not.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pymongo.database import Database
from starlette.testclient import TestClient

from circus_api.app import create_app
from circus_api.imaging.dicom_files import write_image
from circus_api.services import viewer
from circus_api.settings import Settings
from tests.circus_api.conftest import Api
from tests.circus_api.imaging.fixture_files import fixture_files
from tests.circus_api.imaging.synthetic import SyntheticSeries, make_ct_series

SYNTHETIC_UID = "1.2.826.0.1.3680043.8.498.4242"
HEAD_FIRST = "333.444.555.666.777"  # fixture series "head_first", images 1-10, sirius.org
DOMAIN_REFUSED = {"error": "You do not have privilege to access this series."}
SIZE = (48, 40)  # columns, rows: not square, so x and y cannot be swapped unnoticed
DEPTH = 20


@pytest.fixture(autouse=True)
def fresh_volume_cache() -> Iterator[None]:
    viewer.VOLUMES.clear()
    yield
    viewer.VOLUMES.clear()


@pytest.fixture
def synthetic(api: Api, settings: Settings, sync_db: Database) -> SyntheticSeries:
    """A head-first CT of 20 slices of 48x40 stored as images 1-20 of a sirius.org series."""
    series = make_ct_series(DEPTH, SIZE, spacing=(0.7, 0.8, 1.25), series_uid=SYNTHETIC_UID, noise=30)
    for number, data in series.files.items():
        write_image(settings.dicom_dir, SYNTHETIC_UID, number, data)
    sync_db["series"].insert_one({
        "seriesUid": SYNTHETIC_UID, "studyUid": series.study_uid, "width": SIZE[0], "height": SIZE[1],
        "images": f"1-{DEPTH}", "modality": "CT", "domain": "sirius.org", "seriesDescription": "synthetic phantom",
    })
    return series


@pytest.fixture
def head_first(api: Api, settings: Settings) -> list[Path]:
    """CIRCUS's head-first files stored as the images 1-10 of the fixture series `head_first`."""
    files = fixture_files("head-first")
    for number, path in enumerate(files, start=1):
        write_image(settings.dicom_dir, HEAD_FIRST, number, path.read_bytes())
    return files


def rs(uid: str, path: str) -> str:
    return f"/rs/series/{uid}/{path}"


def pixels(response, dtype: str = "<i2") -> np.ndarray:  # type: ignore[no-untyped-def]
    width, height = int(response.headers["x-circus-width"]), int(response.headers["x-circus-height"])
    return np.frombuffer(response.content, dtype=dtype).reshape(height, width)


# ---- metadata ------------------------------------------------------------------------------------


def test_metadata_of_a_synthetic_ct(api: Api, synthetic: SyntheticSeries) -> None:
    response = api.as_user("alice").get(rs(SYNTHETIC_UID, "metadata"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["seriesUid"] == SYNTHETIC_UID and body["selection"] == ""
    assert body["modality"] == "CT" and body["hounsfield"] is True and body["dtype"] == "int16"
    assert body["size"] == [48, 40, 20]
    assert body["imageNumbers"] == list(range(1, 21))
    assert body["pixelSpacing"] == pytest.approx([0.7, 0.8])
    assert body["sliceSpacing"] == pytest.approx(1.25)
    assert body["spacing"] == pytest.approx([0.7, 0.8, 1.25])
    assert body["slicePositions"] == pytest.approx(synthetic.z_positions)
    # head-first: the slices go down the patient, the third axis points to the feet
    assert body["direction"] == pytest.approx([1, 0, 0, 0, 1, 0, 0, 0, -1])
    assert body["orientation"] == pytest.approx([1, 0, 0, 0, 1, 0])
    assert body["origin"] == pytest.approx(body["imagePositions"][0])
    assert body["origin"][2] == pytest.approx(synthetic.z_positions[0])
    assert body["rescale"] == {"slope": 1.0, "intercept": -1024.0, "applied": True}
    assert body["window"] is None  # the synthetic files carry no window
    assert "private" in response.headers["cache-control"]


def test_metadata_of_a_selection(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    body = alice.get(rs(SYNTHETIC_UID, "metadata"), params={"pvd": "20,11,-1"}).json()
    assert body["imageNumbers"] == list(range(20, 10, -1)) and body["size"] == [48, 40, 10]
    assert body["selection"] == "pvd=20,11,-1"
    assert body["slicePositions"] == pytest.approx(synthetic.z_positions[19:9:-1])
    assert body["direction"][8] == pytest.approx(1)  # reversed: now going up
    body = alice.get(rs(SYNTHETIC_UID, "metadata"), params={"images": "3-5,9"}).json()
    assert body["imageNumbers"] == [3, 4, 5, 9] and body["size"] == [48, 40, 4]


def test_metadata_of_circus_head_first_series(api: Api, head_first: list[Path]) -> None:
    response = api.as_user("alice").get(rs(HEAD_FIRST, "metadata"))
    assert response.status_code == 200, response.text
    body = response.json()
    first = pydicom.dcmread(head_first[0])
    headers = [pydicom.dcmread(path, stop_before_pixels=True) for path in head_first]
    assert body["modality"] == "MR" and body["hounsfield"] is False and body["dtype"] == "uint16"
    assert body["size"] == [int(first.Columns), int(first.Rows), 10]
    assert body["pixelSpacing"] == pytest.approx([float(first.PixelSpacing[1]), float(first.PixelSpacing[0])])
    assert body["slicePositions"] == pytest.approx([float(ds.ImagePositionPatient[2]) for ds in headers])
    assert body["slicePositions"][0] > body["slicePositions"][-1]  # head first
    assert body["window"] == {"level": float(first.WindowCenter), "width": float(first.WindowWidth)}
    assert body["rescale"]["applied"] is False


# ---- slices ------------------------------------------------------------------------------------


def test_a_slice_is_the_hu_array(api: Api, synthetic: SyntheticSeries) -> None:
    response = api.as_user("alice").get(rs(SYNTHETIC_UID, "slice/3"))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["x-circus-dtype"] == "int16"
    assert response.headers["x-circus-image-number"] == "4"
    assert (response.headers["x-circus-width"], response.headers["x-circus-height"]) == ("48", "40")
    assert len(response.content) == 48 * 40 * 2
    np.testing.assert_array_equal(pixels(response), synthetic.hu[3])
    assert synthetic.hu[3].min() < -900 and synthetic.hu[3].max() > 0  # air and water: real values


def test_a_slice_says_enough_to_be_drawn_alone(api: Api, synthetic: SyntheticSeries, head_first: list[Path]) -> None:
    alice = api.as_user("alice")
    headers = alice.get(rs(SYNTHETIC_UID, "slice/0")).headers
    assert headers["x-circus-modality"] == "CT" and headers["x-circus-hounsfield"] == "1"
    assert [float(v) for v in headers["x-circus-pixel-spacing"].split(",")] == pytest.approx([0.7, 0.8])
    assert "x-circus-window" not in headers
    headers = alice.get(rs(HEAD_FIRST, "slice/0")).headers
    assert headers["x-circus-modality"] == "MR" and headers["x-circus-hounsfield"] == "0"
    assert [float(v) for v in headers["x-circus-window"].split(",")] == [567, 1205]


def test_consecutive_slices_in_one_answer(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    response = alice.get(rs(SYNTHETIC_UID, "slices/2-5"))
    assert response.status_code == 200, response.text
    assert response.headers["x-circus-dtype"] == "int16"
    assert len(response.content) == 4 * 48 * 40 * 2
    np.testing.assert_array_equal(np.frombuffer(response.content, "<i2").reshape(4, 40, 48), synthetic.hu[2:6])
    etag = response.headers["etag"]
    assert alice.get(rs(SYNTHETIC_UID, "slices/2-5"), headers={"If-None-Match": etag}).status_code == 304
    assert alice.get(rs(SYNTHETIC_UID, "slices/2-6"), headers={"If-None-Match": etag}).status_code == 200
    reversed_pvd = alice.get(rs(SYNTHETIC_UID, "slices/0-1"), params={"pvd": "20,1,-1"})
    np.testing.assert_array_equal(np.frombuffer(reversed_pvd.content, "<i2").reshape(2, 40, 48), synthetic.hu[19:17:-1])
    assert alice.get(rs(SYNTHETIC_UID, "slices/7-7")).status_code == 200
    for bad in ("5-2", "0-20", "19-20", "a-b", "3", "-1-2", "01-2"):
        response = alice.get(rs(SYNTHETIC_UID, f"slices/{bad}"))
        assert response.status_code == 400, bad
        assert response.json()["error"].startswith("Invalid slice range"), bad
    assert api.as_user("bob").get(rs(SYNTHETIC_UID, "slices/0-1")).status_code == 403


def test_slices_follow_the_selection_order(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    first = alice.get(rs(SYNTHETIC_UID, "slice/0"), params={"pvd": "20,1,-1"})
    assert first.headers["x-circus-image-number"] == "20"
    np.testing.assert_array_equal(pixels(first), synthetic.hu[19])
    third = alice.get(rs(SYNTHETIC_UID, "slice/2"), params={"images": "5-8"})
    np.testing.assert_array_equal(pixels(third), synthetic.hu[6])


def test_a_slice_of_circus_head_first_series(api: Api, head_first: list[Path]) -> None:
    response = api.as_user("alice").get(rs(HEAD_FIRST, "slice/9"))
    assert response.status_code == 200, response.text
    assert response.headers["x-circus-dtype"] == "uint16"
    np.testing.assert_array_equal(pixels(response, "<u2"), pydicom.dcmread(head_first[9]).pixel_array)


def test_etag_and_304(api: Api, settings: Settings, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    response = alice.get(rs(SYNTHETIC_UID, "slice/5"))
    etag = response.headers["etag"]
    assert etag.startswith('"') and response.headers["cache-control"].startswith("private, max-age=")
    again = alice.get(rs(SYNTHETIC_UID, "slice/5"), headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = alice.get(rs(SYNTHETIC_UID, "slice/6"), headers={"If-None-Match": etag})
    assert other.status_code == 200 and other.headers["etag"] != etag
    # a re-uploaded image is a new ETag and the new pixels
    write_image(settings.dicom_dir, SYNTHETIC_UID, 6, synthetic.files[1])
    changed = alice.get(rs(SYNTHETIC_UID, "slice/5"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    np.testing.assert_array_equal(pixels(changed), synthetic.hu[0])


def test_bad_slice_indexes_are_400(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    for index in ("20", "-1", "x", "01", "1.5", "99999999999"):
        response = alice.get(rs(SYNTHETIC_UID, f"slice/{index}"))
        assert response.status_code == 400, index
        assert response.json()["error"].startswith("Invalid slice index")
    assert alice.get(rs(SYNTHETIC_UID, "slice/19")).status_code == 200


def test_bad_selections_are_400(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    cases = [
        ({"pvd": "1,20"}, "Invalid partial volume descriptor"),
        ({"pvd": "1,20,-1"}, "Invalid partial volume descriptor"),
        ({"pvd": "1,21,1"}, "Specified range is invalid."),
        ({"images": "18-25"}, "Specified range is invalid."),
        ({"images": "a-b"}, "Invalid images range."),
        ({"pvd": "1,2,1", "images": "1"}, "Give either pvd or images"),
    ]
    for params, message in cases:
        response = alice.get(rs(SYNTHETIC_UID, "slice/0"), params=params)
        assert response.status_code == 400, params
        assert response.json()["error"].startswith(message), params


# ---- reformats and the volume -------------------------------------------------------------------


def test_reformats_are_planes_of_the_volume(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    builds = viewer.VOLUMES.builds
    for axis, count in (("coronal", 40), ("sagittal", 48)):
        for index in (0, 17, count - 1):
            response = alice.get(rs(SYNTHETIC_UID, f"reformat/{axis}/{index}"))
            assert response.status_code == 200, response.text
            expected = synthetic.hu[:, index, :] if axis == "coronal" else synthetic.hu[:, :, index]
            np.testing.assert_array_equal(pixels(response), expected)
        assert alice.get(rs(SYNTHETIC_UID, f"reformat/{axis}/{count}")).status_code == 400
    assert viewer.VOLUMES.builds == builds + 1  # one volume served every plane
    # a reversed selection is another volume, its rows reversed
    response = alice.get(rs(SYNTHETIC_UID, "reformat/coronal/7"), params={"pvd": "20,1,-1"})
    np.testing.assert_array_equal(pixels(response), synthetic.hu[::-1, 7, :])


def test_reformat_etag_and_bad_axis(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    response = alice.get(rs(SYNTHETIC_UID, "reformat/sagittal/3"))
    etag = response.headers["etag"]
    again = alice.get(rs(SYNTHETIC_UID, "reformat/sagittal/3"), headers={"If-None-Match": etag})
    assert again.status_code == 304
    bad = alice.get(rs(SYNTHETIC_UID, "reformat/oblique/3"))
    assert bad.status_code == 400 and bad.json()["error"].startswith("Invalid axis")


def test_the_whole_volume_streams(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    response = alice.get(rs(SYNTHETIC_UID, "volume"))
    assert response.status_code == 200, response.text
    assert response.headers["x-circus-size"] == "48,40,20" and response.headers["x-circus-dtype"] == "int16"
    assert int(response.headers["content-length"]) == synthetic.hu.nbytes
    assert response.content == synthetic.hu.astype("<i2").tobytes()
    # the same from the reformat cache
    alice.get(rs(SYNTHETIC_UID, "reformat/coronal/0"))
    assert alice.get(rs(SYNTHETIC_UID, "volume")).content == synthetic.hu.astype("<i2").tobytes()
    not_modified = alice.get(rs(SYNTHETIC_UID, "volume"), headers={"If-None-Match": response.headers["etag"]})
    assert not_modified.status_code == 304


# ---- access ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["metadata", "slice/0", "slices/0-3", "reformat/coronal/0", "volume"])
def test_other_domains_are_refused(api: Api, synthetic: SyntheticSeries, path: str) -> None:
    assert api.as_user("alice").get(rs(SYNTHETIC_UID, path)).status_code == 200  # positive control
    response = api.as_user("bob").get(rs(SYNTHETIC_UID, path))
    assert (response.status_code, response.json()) == (403, DOMAIN_REFUSED)


def test_unauthenticated_requests_are_401(api: Api, synthetic: SyntheticSeries) -> None:
    assert api.as_user(None).get(rs(SYNTHETIC_UID, "slice/0")).status_code == 401
    assert api.as_token("0" * 40).get(rs(SYNTHETIC_UID, "metadata")).status_code == 401


def test_unknown_series_and_paths_are_404(api: Api, synthetic: SyntheticSeries) -> None:
    alice = api.as_user("alice")
    for uid in ("1.2.3.4.5.6.7", "not-a-uid"):
        response = alice.get(rs(uid, "metadata"))
        assert (response.status_code, response.json()) == (404, {"error": "This series does not exist."})
        assert alice.get(rs(uid, "slice/0")).status_code == 404
    assert alice.get(f"/rs/series/{SYNTHETIC_UID}/nothing").status_code == 404


def test_missing_files_are_404(api: Api, settings: Settings, synthetic: SyntheticSeries) -> None:
    (settings.dicom_dir / SYNTHETIC_UID / "00000007.dcm").unlink()
    alice = api.as_user("alice")
    assert alice.get(rs(SYNTHETIC_UID, "slice/6")).status_code == 404
    assert alice.get(rs(SYNTHETIC_UID, "slice/5")).status_code == 200
    response = alice.get(rs(SYNTHETIC_UID, "metadata"))
    assert response.status_code == 404 and "incomplete" in response.json()["error"]


def test_the_viewer_test_page_is_served_in_debug_mode_only(api: Api, settings: Settings) -> None:
    assert api.client.get("/viewer-test/1.2.3").status_code == 404
    with TestClient(create_app(settings.with_overrides(debug=True)), raise_server_exceptions=False) as client:
        response = client.get("/viewer-test/1.2.3")
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert 'from "/static/js/viewer.js"' in response.text
        script = client.get("/static/js/viewer.js")
        assert script.status_code == 200 and "export function createViewer" in script.text
