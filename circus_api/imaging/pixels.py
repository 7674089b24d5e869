"""One slice's pixels in the volume's pixel type.

The native type follows BitsAllocated and PixelRepresentation (uint8/int8/uint16/int16/...).
CT is the exception: Rescale Slope/Intercept are applied and the result is int16 Hounsfield
units, whatever the stored type (a uint16 slice with intercept -1024 must not widen to int32,
the pitfall of SimpleITK's reader). Other modalities keep their stored values, as CIRCUS does.
"""

from __future__ import annotations

import numpy as np
from pydicom.dataset import Dataset

from circus_api.imaging.dicom_values import element_value
from circus_api.imaging.errors import VolumeError

HU_TYPE = np.dtype("<i2")
_NATIVE_TYPES = {
    (8, 0): "<u1",
    (8, 1): "<i1",
    (16, 0): "<u2",
    (16, 1): "<i2",
    (32, 0): "<u4",
    (32, 1): "<i4",
}


def is_ct(ds: Dataset) -> bool:
    return str(ds.get("Modality", "")).strip().upper() == "CT"


def native_pixel_type(ds: Dataset) -> np.dtype:
    """The pixel type a series' volume has unless the caller chooses another one."""
    samples = _number(ds, "SamplesPerPixel", 1)
    if samples != 1:
        raise VolumeError(f"unsupported image: {samples:g} samples per pixel (only grayscale)")
    if is_ct(ds):
        return HU_TYPE
    key = (int(_number(ds, "BitsAllocated", 16)), int(_number(ds, "PixelRepresentation", 0)))
    if key not in _NATIVE_TYPES:
        raise VolumeError(f"unsupported pixel format: {key[0]} bits allocated")
    return np.dtype(_NATIVE_TYPES[key])


def slice_pixels(ds: Dataset, pixel_type: np.dtype) -> np.ndarray:
    """A (rows, columns) little-endian array of `pixel_type`; out-of-range values are clipped."""
    if int(_number(ds, "NumberOfFrames", 1)) > 1:
        raise VolumeError("multi-frame images are not supported")
    try:
        stored = ds.pixel_array
    # pydicom raises RuntimeError/NotImplementedError/ValueError for compressed syntaxes without
    # a decoder and for inconsistent pixel attributes
    except Exception as exc:
        syntax = ds.file_meta.get("TransferSyntaxUID", "unknown")
        raise VolumeError(f"cannot decode pixel data (transfer syntax {syntax}): {exc}") from exc
    values = _rescaled(ds, stored) if is_ct(ds) else stored
    return _cast(values, np.dtype(pixel_type).newbyteorder("<"))


def _rescaled(ds: Dataset, stored: np.ndarray) -> np.ndarray:
    slope, intercept = _number(ds, "RescaleSlope", 1.0), _number(ds, "RescaleIntercept", 0.0)
    if slope == 1 and float(intercept).is_integer():
        return stored.astype(np.int32) + int(intercept)  # exact and cheap: the usual CT case
    return np.rint(stored * slope + intercept)


def _cast(values: np.ndarray, pixel_type: np.dtype) -> np.ndarray:
    if values.dtype == pixel_type:
        return values
    if pixel_type.kind in "iu":
        limits = np.iinfo(pixel_type)
        # widen first: numpy refuses clip bounds outside the source type (uint16 vs -128)
        wide = values.astype(np.int64) if values.dtype.kind in "iub" else np.rint(values)
        values = np.clip(wide, limits.min, limits.max)
    return values.astype(pixel_type)


def _number(ds: Dataset, keyword: str, default: float) -> float:
    value = element_value(ds[keyword]) if keyword in ds else None
    if isinstance(value, list):
        value = value[0]
    return float(value) if isinstance(value, int | float) else default
