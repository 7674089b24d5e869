from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from circus_api.imaging.mhd import element_type_for, format_number, mhd_header, transform_matrix


def test_the_header_of_spec_5_4() -> None:
    header = mhd_header((512, 512, 120), "MET_SHORT", (0.68359375, 0.68359375, 1.0), "vol000.raw")
    assert header == (
        "ObjectType = Image\n"
        "NDims = 3\n"
        "DimSize = 512 512 120\n"
        "ElementType = MET_SHORT\n"
        "ElementSpacing = 0.68359375 0.68359375 1\n"
        "ElementByteOrderMSB = False\n"
        "ElementDataFile = vol000.raw\n"
    )


def test_crlf_line_endings_include_the_last_line() -> None:
    header = mhd_header((2, 3, 4), np.dtype(np.uint8), (1.5, 1.5, 2.0), "vol000-label.raw", line_ending="\r\n")
    assert header == (
        "ObjectType = Image\r\n"
        "NDims = 3\r\n"
        "DimSize = 2 3 4\r\n"
        "ElementType = MET_UCHAR\r\n"
        "ElementSpacing = 1.5 1.5 2\r\n"
        "ElementByteOrderMSB = False\r\n"
        "ElementDataFile = vol000-label.raw\r\n"
    )


def test_optional_geometry_goes_before_the_data_file() -> None:
    header = mhd_header(
        (2, 3, 4), "MET_USHORT", (1, 1, 1), "0.raw",
        offset=(-179.3, -179.3, -300), transform_matrix=(1, 0, 0, 0, 1, 0, 0, 0, -1), anatomical_orientation="RAI",
    )
    assert header.splitlines()[-4:] == [
        "Offset = -179.3 -179.3 -300",
        "TransformMatrix = 1 0 0 0 1 0 0 0 -1",
        "AnatomicalOrientation = RAI",
        "ElementDataFile = 0.raw",
    ]


@pytest.mark.parametrize(
    ("dtype", "name"),
    [(np.uint8, "MET_UCHAR"), (np.int8, "MET_CHAR"), (np.uint16, "MET_USHORT"), (np.int16, "MET_SHORT"),
     (np.uint32, "MET_UINT"), (np.int32, "MET_INT"), (np.float32, "MET_FLOAT"), (np.float64, "MET_DOUBLE"),
     (np.dtype("<i2"), "MET_SHORT")],
)
def test_element_types(dtype: type, name: str) -> None:
    assert element_type_for(dtype) == name


def test_unsupported_element_types_are_refused() -> None:
    with pytest.raises(ValueError):
        element_type_for(np.complex64)
    with pytest.raises(ValueError):
        element_type_for(np.bool_)


@pytest.mark.parametrize(("value", "text"), [(1.0, "1"), (1, "1"), (0.7, "0.7"), (-300.0, "-300"), (1.25, "1.25")])
def test_numbers_print_like_javascript(value: float, text: str) -> None:
    assert format_number(value) == text


@pytest.mark.parametrize("name", ["../x.raw", "a/b.raw", "a\\b.raw", "x.raw\nEvil = 1"])
def test_the_data_file_must_be_a_base_name(name: str) -> None:
    with pytest.raises(ValueError):
        mhd_header((1, 1, 1), "MET_UCHAR", (1, 1, 1), name)


def test_simpleitk_reads_what_we_write(tmp_path: Path) -> None:
    voxels = np.arange(4 * 3 * 2, dtype="<i2").reshape(4, 3, 2) - 5
    direction = (1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, -1.0, 0.0)
    (tmp_path / "v.raw").write_bytes(voxels.tobytes())
    (tmp_path / "v.mhd").write_text(
        mhd_header((2, 3, 4), voxels.dtype, (0.5, 0.75, 2.0), "v.raw", offset=(1.0, 2.0, 3.0),
                   transform_matrix=transform_matrix(direction)),
        newline="",
    )
    image = sitk.ReadImage(str(tmp_path / "v.mhd"))
    assert image.GetSize() == (2, 3, 4)
    assert image.GetSpacing() == (0.5, 0.75, 2.0)
    assert image.GetOrigin() == (1.0, 2.0, 3.0)
    assert image.GetDirection() == direction
    np.testing.assert_array_equal(sitk.GetArrayFromImage(image), voxels)
