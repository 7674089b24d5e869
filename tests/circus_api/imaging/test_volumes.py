from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pydicom
import pytest
import SimpleITK as sitk
from pydicom.data import get_testdata_file

from circus_api.imaging import volumes
from circus_api.imaging.dicom_files import image_path
from circus_api.imaging.errors import VolumeError
from circus_api.imaging.volumes import (
    build_volume,
    iter_slices,
    slice_pitch,
    volume_geometry,
)
from tests.circus_api.imaging.fixture_files import FOOT_FIRST_UID, HEAD_FIRST_UID
from tests.circus_api.imaging.synthetic import SyntheticSeries, make_ct_series

N_SLICES = 12
SIZE = (40, 32)  # columns x rows: unequal, so x/y mix-ups show
SPACING = (0.7, 0.8, 1.25)

Stored = tuple[Path, SyntheticSeries]  # (repository root, the series stored in it)


def store(root: Path, series: SyntheticSeries) -> str:
    folder = root / series.series_uid
    folder.mkdir(parents=True)
    for number, data in series.files.items():
        (folder / f"{number:08d}.dcm").write_bytes(data)
    return series.series_uid


def sitk_series(folder: Path, series_uid: str) -> sitk.Image:
    """SimpleITK's reading of the series (sorted along the slice normal, ascending)."""
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder), series_uid))
    return reader.Execute()


def ct_as_int16(folder: Path, series_uid: str) -> sitk.Image:
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(folder), series_uid))
    reader.SetOutputPixelType(sitk.sitkInt16)  # the infrastructure note's pitfall
    return reader.Execute()


@pytest.fixture(params=[False, True], ids=["stored-uint16", "stored-int16"])
def foot_first_ct(request: pytest.FixtureRequest, repository: Path) -> Stored:
    series = make_ct_series(N_SLICES, SIZE, SPACING, head_first=False, signed=request.param)
    store(repository, series)
    return repository, series


@pytest.fixture
def head_first_ct(repository: Path) -> Stored:
    series = make_ct_series(N_SLICES, SIZE, SPACING, head_first=True)
    store(repository, series)
    return repository, series


def test_foot_first_ct_equals_simpleitk(foot_first_ct: Stored) -> None:
    root, series = foot_first_ct
    volume = build_volume(root, series.series_uid)
    reference = ct_as_int16(root / series.series_uid, series.series_uid)

    assert volume.voxels.dtype == np.dtype("<i2")
    assert volume.voxels.shape == (N_SLICES, 32, 40)
    np.testing.assert_array_equal(volume.voxels, sitk.GetArrayFromImage(reference))
    np.testing.assert_array_equal(volume.voxels, series.hu)  # exact HU: -1000, 0, 700, 60
    geometry = volume.geometry
    assert geometry.size == reference.GetSize() == (40, 32, N_SLICES)
    np.testing.assert_allclose(geometry.spacing, reference.GetSpacing())
    np.testing.assert_allclose(geometry.origin, reference.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(geometry.direction, reference.GetDirection())
    assert geometry.image_numbers == tuple(range(1, N_SLICES + 1))


def test_simpleitk_alone_widens_uint16_ct_where_volumes_keep_int16(repository: Path) -> None:
    series = make_ct_series(3, 16, head_first=False)  # stored uint16, intercept -1024
    store(repository, series)
    assert sitk_series(repository / series.series_uid, series.series_uid).GetPixelID() != sitk.sitkInt16
    assert build_volume(repository, series.series_uid).voxels.dtype == np.int16


def test_a_descending_pvd_of_a_head_first_series_equals_simpleitk(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    reference = ct_as_int16(root / series.series_uid, series.series_uid)
    # SimpleITK sorts by position (foot to head); the same order is the PVD N..1
    volume = build_volume(root, series.series_uid, {"start": N_SLICES, "end": 1, "delta": -1})
    np.testing.assert_array_equal(volume.voxels, sitk.GetArrayFromImage(reference))
    np.testing.assert_allclose(volume.geometry.origin, reference.GetOrigin(), atol=1e-6)
    np.testing.assert_allclose(volume.geometry.direction, reference.GetDirection())
    np.testing.assert_allclose(volume.geometry.spacing, reference.GetSpacing())


def test_image_order_of_a_head_first_series_runs_against_the_normal(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    reference = ct_as_int16(root / series.series_uid, series.series_uid)
    volume = build_volume(root, series.series_uid, {"start": 1, "end": N_SLICES, "delta": 1})
    np.testing.assert_array_equal(volume.voxels, sitk.GetArrayFromImage(reference)[::-1])
    np.testing.assert_array_equal(volume.voxels, series.hu)
    assert volume.geometry.direction == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, -1.0)
    assert volume.geometry.origin[2] == pytest.approx(series.z_positions[0])
    assert volume.geometry.origin[2] == pytest.approx(reference.GetOrigin()[2] + (N_SLICES - 1) * SPACING[2])


def test_fixture_mr_series_keep_their_stored_uint16_values(fixture_repository: Path) -> None:
    for uid, z_sign in ((HEAD_FIRST_UID, -1.0), (FOOT_FIRST_UID, 1.0)):
        volume = build_volume(fixture_repository, uid)
        reference = sitk_series(fixture_repository / uid, uid)
        assert volume.voxels.dtype == np.dtype("<u2")
        expected = sitk.GetArrayFromImage(reference)
        if z_sign < 0:  # image order is head to foot; SimpleITK's is foot to head
            expected = expected[::-1]
        np.testing.assert_array_equal(volume.voxels, expected)
        geometry = volume.geometry
        assert geometry.size == (320, 260, 10)
        np.testing.assert_allclose(geometry.spacing, (1.1875, 1.1875, 8.1), rtol=1e-6)
        assert geometry.direction[8] == z_sign
        assert geometry.origin[2] == pytest.approx(-262.634145736 if z_sign < 0 else -335.534145355)


def test_geometry_comes_from_headers_only(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    geometry = volume_geometry(root, series.series_uid, [3, 4, 5])
    assert geometry.image_numbers == (3, 4, 5)
    assert geometry.size == (40, 32, 3)
    assert geometry.pixel_type == np.dtype("<i2")
    assert [h.image_number for h in geometry.headers] == [3, 4, 5]
    assert "PixelData" not in geometry.headers[0].dataset
    assert geometry.headers[0].dataset.Modality == "CT"


def test_iter_slices_streams_one_slice_at_a_time(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    geometry = volume_geometry(root, series.series_uid)
    slices = iter_slices(root, series.series_uid, geometry)
    first = next(slices)
    assert first.image_number == 1
    assert first.pixels.shape == (32, 40) and first.pixels.dtype == np.dtype("<i2")
    np.testing.assert_array_equal(first.pixels, series.hu[0])
    # nothing beyond the current slice has been read yet
    image_path(root, series.series_uid, 3).unlink()
    assert next(slices).image_number == 2
    with pytest.raises(VolumeError, match="image 3"):
        next(slices)


def test_the_pixel_pass_reads_only_the_pixel_bytes_the_header_pass_found(
    foot_first_ct: Stored, monkeypatch: pytest.MonkeyPatch
) -> None:
    root, series = foot_first_ct
    geometry = volume_geometry(root, series.series_uid)
    assert all(h.pixel_data is not None for h in geometry.headers)

    def no_second_parse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was parsed again")

    monkeypatch.setattr(volumes, "read_dataset", no_second_parse)
    pixels = [piece.pixels for piece in iter_slices(root, series.series_uid, geometry)]
    np.testing.assert_array_equal(np.stack(pixels), series.hu)
    assert all(p.dtype == np.dtype("<i2") and p.flags.writeable for p in pixels)


def test_an_image_replaced_after_the_header_pass_is_read_whole(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    geometry = volume_geometry(root, series.series_uid, [1, 2])
    # a re-upload replaces the file by rename (dicom_files.write_image): here a longer header
    # moves the pixels, so the offset found by the header pass is no longer theirs
    target = image_path(root, series.series_uid, 2)
    ds = pydicom.dcmread(target)
    ds.SeriesDescription = "replaced by a re-upload with a longer description"
    replaced = (series.hu[1] + 10).astype(np.int16)
    ds.PixelData = (replaced.astype(np.int32) + 1024).astype("<u2").tobytes()
    temporary = target.with_suffix(".tmp")
    ds.save_as(temporary)
    os.replace(temporary, target)
    assert target.stat().st_size > len(series.files[2])
    pieces = list(iter_slices(root, series.series_uid, geometry))
    np.testing.assert_array_equal(pieces[0].pixels, series.hu[0])
    np.testing.assert_array_equal(pieces[1].pixels, replaced)


def test_other_encodings_are_parsed_whole(repository: Path) -> None:
    source = Path(get_testdata_file("MR_small_bigendian.dcm"))
    ds = pydicom.dcmread(source)
    folder = repository / str(ds.SeriesInstanceUID)
    folder.mkdir()
    shutil.copy(source, folder / "00000001.dcm")
    geometry = volume_geometry(repository, str(ds.SeriesInstanceUID))
    assert geometry.headers[0].pixel_data is None
    (piece,) = iter_slices(repository, str(ds.SeriesInstanceUID), geometry)
    np.testing.assert_array_equal(piece.pixels, ds.pixel_array)


def test_every_other_slice_doubles_the_pitch(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    volume = build_volume(root, series.series_uid, {"start": 1, "end": 11, "delta": 2})
    assert volume.geometry.image_numbers == (1, 3, 5, 7, 9, 11)
    assert volume.geometry.spacing[2] == pytest.approx(2 * SPACING[2])
    np.testing.assert_array_equal(volume.voxels, series.hu[0:11:2])


def test_a_chosen_pixel_type(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    volume = build_volume(root, series.series_uid, pixel_type=np.dtype(np.float32))
    assert volume.voxels.dtype == np.float32
    np.testing.assert_array_equal(volume.voxels, series.hu.astype(np.float32))
    clipped = build_volume(root, series.series_uid, pixel_type=np.dtype(np.int8))
    assert clipped.voxels.min() == -128 and clipped.voxels.max() == 127


def test_a_single_slice_volume(repository: Path) -> None:
    series = make_ct_series(1, 16, (0.5, 0.5, 3.0))
    store(repository, series)
    volume = build_volume(repository, series.series_uid)
    assert volume.voxels.shape == (1, 16, 16)
    assert volume.geometry.spacing == (0.5, 0.5, 3.0)  # Spacing Between Slices of the slice
    assert volume.geometry.direction == (1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0)


def test_the_pitch_falls_back_to_slice_location_then_1(head_first_ct: Stored) -> None:
    root, series = head_first_ct
    headers = list(volume_geometry(root, series.series_uid, [1, 2]).headers)
    for header in headers:
        del header.dataset.SpacingBetweenSlices
    no_positions = [type(h)(**{**h.__dict__, "position": None}) for h in headers]
    assert slice_pitch(no_positions) == pytest.approx(SPACING[2])  # |slice location difference|
    no_locations = [type(h)(**{**h.__dict__, "slice_location": None}) for h in no_positions]
    assert slice_pitch(no_locations) == 1.0


def test_missing_images_and_bad_selections(head_first_ct: Stored, repository: Path) -> None:
    root, series = head_first_ct
    with pytest.raises(VolumeError, match="image 99 not found"):
        volume_geometry(root, series.series_uid, [1, 99])
    with pytest.raises(VolumeError, match="invalid partial volume descriptor"):
        volume_geometry(root, series.series_uid, {"start": 1, "end": 5})
    with pytest.raises(VolumeError, match="no image"):
        volume_geometry(root, "1.2.3.4", None)


def test_slices_of_different_sizes_are_refused(repository: Path) -> None:
    big = make_ct_series(1, 16)
    small = make_ct_series(1, 8, series_uid=big.series_uid)
    store(repository, big)
    (repository / big.series_uid / "00000002.dcm").write_bytes(small.files[1])
    with pytest.raises(VolumeError, match="image 2 is 8x8, image 1 is 16x16"):
        volume_geometry(repository, big.series_uid)
