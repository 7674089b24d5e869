from __future__ import annotations

import io
from pathlib import Path

import pydicom
import pytest

from circus_api.imaging.dicom_files import write_image
from circus_api.imaging.errors import OrientationError
from circus_api.imaging.orientation import auto_pvd, orientation, orientation_name
from tests.circus_api.imaging.fixture_files import BRAIN_UID, FIXTURE_DICOM, FOOT_FIRST_UID, HEAD_FIRST_UID
from tests.circus_api.imaging.synthetic import make_ct_series


def test_head_first_fixture_series(fixture_repository: Path) -> None:
    pvd = orientation(fixture_repository, HEAD_FIRST_UID, 1, 10)
    assert pvd == {"start": 1, "end": 10, "delta": 1}
    assert orientation_name(pvd) == "head-first"


def test_foot_first_fixture_series(fixture_repository: Path) -> None:
    pvd = orientation(fixture_repository, FOOT_FIRST_UID, 1, 10)
    assert pvd == {"start": 10, "end": 1, "delta": -1}
    assert orientation_name(pvd) == "foot-first"


def test_start_after_end_mirrors_the_signs(fixture_repository: Path) -> None:
    # head-first: z(10) < z(1), so z(start) >= z(end) is false -> {start, end, 1}
    assert orientation(fixture_repository, HEAD_FIRST_UID, 10, 1) == {"start": 10, "end": 1, "delta": 1}
    # foot-first: z(10) >= z(1) -> {start: end, end: start, delta: -1}
    assert orientation(fixture_repository, FOOT_FIRST_UID, 10, 1) == {"start": 1, "end": 10, "delta": -1}


def test_equal_z_counts_as_head_first(fixture_repository: Path) -> None:
    assert orientation(fixture_repository, FOOT_FIRST_UID, 4, 4) == {"start": 4, "end": 4, "delta": 1}


def test_a_single_image_series_is_head_first_without_loading(repository: Path) -> None:
    write_image(repository, BRAIN_UID, 1, b"not even DICOM")
    assert orientation(repository, BRAIN_UID, 1, 1) == {"start": 1, "end": 1, "delta": 1}


def test_auto_pvd_uses_the_first_contiguous_segment(fixture_repository: Path) -> None:
    assert auto_pvd(fixture_repository, HEAD_FIRST_UID) == {"start": 1, "end": 10, "delta": 1}
    assert auto_pvd(fixture_repository, FOOT_FIRST_UID) == {"start": 10, "end": 1, "delta": -1}
    assert auto_pvd(fixture_repository, FOOT_FIRST_UID, "2-5,8-10") == {"start": 5, "end": 2, "delta": -1}


def test_auto_pvd_of_the_single_brain_slice(repository: Path) -> None:
    data = (FIXTURE_DICOM / "CT-MONO2-16-brain.dcm").read_bytes()
    write_image(repository, BRAIN_UID, 8, data)
    assert auto_pvd(repository, BRAIN_UID) == {"start": 8, "end": 8, "delta": 1}


def test_auto_pvd_of_an_empty_series_fails(repository: Path) -> None:
    with pytest.raises(OrientationError, match="no image"):
        auto_pvd(repository, HEAD_FIRST_UID)
    with pytest.raises(OrientationError, match="no image"):
        auto_pvd(repository, HEAD_FIRST_UID, "")


def test_a_missing_image_is_no_image(fixture_repository: Path) -> None:
    with pytest.raises(OrientationError) as error:
        orientation(fixture_repository, HEAD_FIRST_UID, 1, 11)
    assert str(error.value) == "no image"


def test_an_unreadable_image_is_no_image(repository: Path) -> None:
    series = make_ct_series(2, 8)
    write_image(repository, series.series_uid, 1, series.files[1])
    write_image(repository, series.series_uid, 2, b"garbage")
    with pytest.raises(OrientationError, match=r"^no image$"):
        orientation(repository, series.series_uid, 1, 2)


def test_an_image_without_position_is_invalid_image(repository: Path) -> None:
    series = make_ct_series(2, 8)
    ds = pydicom.dcmread(io.BytesIO(series.files[2]))
    del ds.ImagePositionPatient
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    write_image(repository, series.series_uid, 1, series.files[1])
    write_image(repository, series.series_uid, 2, out.getvalue())
    with pytest.raises(OrientationError) as error:
        orientation(repository, series.series_uid, 1, 2)
    assert str(error.value) == "invalid image"


@pytest.mark.parametrize("head_first", [True, False])
def test_synthetic_series_orientation(repository: Path, head_first: bool) -> None:
    series = make_ct_series(5, 8, head_first=head_first)
    for number, data in series.files.items():
        write_image(repository, series.series_uid, number, data)
    pvd = auto_pvd(repository, series.series_uid)
    assert orientation_name(pvd) == ("head-first" if head_first else "foot-first")
    # always head to foot: the first image of the PVD has the highest z
    assert pvd["start"] == (1 if head_first else 5)
