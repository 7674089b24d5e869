"""The uncompressed fast path of `pixels.slice_pixels` returns exactly what pydicom's decoder does."""

from __future__ import annotations

import io

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRBigEndian

from circus_api.imaging import pixels
from tests.circus_api.imaging.fixture_files import fixture_files


def reread(ds: Dataset) -> Dataset:
    out = io.BytesIO()
    ds.save_as(out)
    return pydicom.dcmread(io.BytesIO(out.getvalue()))


@pytest.mark.parametrize(
    ("bits", "stored", "signed"),
    [(16, 16, 0), (16, 16, 1), (16, 12, 0), (16, 12, 1), (16, 10, 1), (8, 8, 0), (8, 8, 1), (8, 6, 1), (8, 7, 0)],
)
def test_garbage_above_bits_stored_is_handled_like_pydicom(bits: int, stored: int, signed: int) -> None:
    ds = pydicom.dcmread(fixture_files("head-first")[0])
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, stored, stored - 1, signed
    words = np.random.default_rng(bits * stored).integers(0, 2**bits, ds.Rows * ds.Columns, dtype=np.uint64)
    ds.PixelData = words.astype(f"<u{bits // 8}").tobytes()
    ds = reread(ds)
    fast = pixels._native_pixels(ds)
    assert fast is not None
    assert fast.dtype == ds.pixel_array.dtype
    assert np.array_equal(fast, ds.pixel_array)


@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "MR_small_implicit.dcm"])
def test_pydicom_test_files_match(name: str) -> None:
    ds = pydicom.dcmread(get_testdata_file(name))
    assert np.array_equal(pixels._native_pixels(ds), ds.pixel_array)  # type: ignore[arg-type]
    sliced = pixels.slice_pixels(ds, pixels.native_pixel_type(ds))
    assert sliced.flags.writeable  # callers own their slice, as with pydicom's arrays


def test_other_encodings_take_pydicom_s_decoder() -> None:
    ds = pydicom.dcmread(get_testdata_file("MR_small_bigendian.dcm"))
    assert ds.file_meta.TransferSyntaxUID == ExplicitVRBigEndian
    assert pixels._native_pixels(ds) is None
    assert pixels._native_pixels(pydicom.dcmread(get_testdata_file("rtdose.dcm"))) is None  # 32 bits
    short = pydicom.dcmread(get_testdata_file("MR_small.dcm"))
    short.PixelData = short.PixelData[:10]
    assert pixels._native_pixels(short) is None
