from __future__ import annotations

import numpy as np
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, JPEGLosslessSV1

from circus_api.imaging.errors import VolumeError
from circus_api.imaging.pixels import native_pixel_type, slice_pixels


def image(stored: np.ndarray, modality: str = "CT", **attributes: object) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.Modality = modality
    ds.Rows, ds.Columns = stored.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = stored.dtype.itemsize * 8
    ds.HighBit = ds.BitsStored - 1
    ds.PixelRepresentation = 1 if stored.dtype.kind == "i" else 0
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    ds.PixelData = stored.astype(stored.dtype.newbyteorder("<")).tobytes()
    return ds


@pytest.mark.parametrize(
    ("stored", "expected"),
    [(np.uint8, "<u1"), (np.int8, "<i1"), (np.uint16, "<u2"), (np.int16, "<i2"), (np.uint32, "<u4")],
)
def test_non_ct_keeps_the_stored_type(stored: type, expected: str) -> None:
    assert native_pixel_type(image(np.zeros((2, 2), dtype=stored), modality="MR")) == np.dtype(expected)


def test_ct_is_always_int16() -> None:
    assert native_pixel_type(image(np.zeros((2, 2), dtype=np.uint16))) == np.dtype("<i2")
    assert native_pixel_type(image(np.zeros((2, 2), dtype=np.uint8))) == np.dtype("<i2")


def test_ct_rescale_gives_hounsfield_units() -> None:
    stored = np.array([[0, 1024], [1724, 65535]], dtype=np.uint16)
    ds = image(stored, RescaleSlope=1, RescaleIntercept=-1024)
    hu = slice_pixels(ds, native_pixel_type(ds))
    assert hu.dtype == np.dtype("<i2")
    assert hu.tolist() == [[-1024, 0], [700, 32767]]  # clipped to int16


@pytest.mark.parametrize(
    ("stored", "intercept", "expected"),
    [
        (np.array([[40000, 1024, 0]], np.uint16), -10000, [[30000, -8976, -10000]]),  # wraps through int16
        (np.array([[60000, 50000]], np.uint16), -40000, [[20000, 10000]]),  # an intercept beyond int16
        (np.array([[255, 0]], np.uint8), -1024, [[-769, -1024]]),
        (np.array([[-128, 127]], np.int8), 32000, [[31872, 32127]]),
        (np.array([[-32768, 32767]], np.int16), 0, [[-32768, 32767]]),
        (np.array([[-32768, 0]], np.int16), -1, [[-32768, -1]]),  # one below int16: the clipping path
    ],
)
def test_integer_rescales_are_exact_in_int16(stored: np.ndarray, intercept: int, expected: list) -> None:
    ds = image(stored, RescaleSlope=1, RescaleIntercept=intercept)
    hu = slice_pixels(ds, np.dtype("<i2"))
    assert hu.dtype == np.dtype("<i2") and hu.flags.writeable
    assert hu.tolist() == expected


def test_a_fractional_rescale_is_rounded() -> None:
    stored = np.array([[0, 1], [2, 3]], dtype=np.uint16)
    ds = image(stored, RescaleSlope=0.5, RescaleIntercept=-1000.25)
    assert slice_pixels(ds, np.dtype("<i2")).tolist() == [[-1000, -1000], [-999, -999]]


def test_ct_without_rescale_tags_is_identity() -> None:
    stored = np.array([[-5, 7]], dtype=np.int16)
    assert slice_pixels(image(stored), np.dtype("<i2")).tolist() == [[-5, 7]]


def test_mr_ignores_rescale() -> None:
    stored = np.array([[10, 20]], dtype=np.uint16)
    ds = image(stored, modality="MR", RescaleSlope=2, RescaleIntercept=5)
    assert slice_pixels(ds, native_pixel_type(ds)).tolist() == [[10, 20]]


def test_bits_stored_below_bits_allocated_are_sign_extended() -> None:
    raw = np.array([[0x0FFF, 0x0001]], dtype=np.uint16)  # 12-bit two's complement: -1, 1
    ds = image(raw, modality="MR", BitsStored=12, HighBit=11, PixelRepresentation=1)
    assert slice_pixels(ds, native_pixel_type(ds)).tolist() == [[-1, 1]]


def test_colour_and_multi_frame_images_are_refused() -> None:
    with pytest.raises(VolumeError, match="samples per pixel"):
        native_pixel_type(image(np.zeros((2, 2), np.uint8), SamplesPerPixel=3))
    with pytest.raises(VolumeError, match="multi-frame"):
        slice_pixels(image(np.zeros((2, 2), np.uint8), NumberOfFrames=2), np.dtype("<u1"))


def test_undecodable_pixel_data_is_a_volume_error() -> None:
    ds = image(np.zeros((2, 2), np.uint16))
    ds.file_meta.TransferSyntaxUID = JPEGLosslessSV1
    ds.PixelData = b"\xfe\xff\x00\xe0\x00\x00\x00\x00" + b"\xfe\xff\x00\xe0\x04\x00\x00\x00abcd"
    with pytest.raises(VolumeError, match="cannot decode pixel data"):
        slice_pixels(ds, np.dtype("<i2"))
