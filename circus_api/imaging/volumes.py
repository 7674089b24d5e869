"""The one volume builder: series + selection -> geometry, streamed slices, or a whole volume.

A selection is a PVD (`{start, end, delta}`), an explicit list of image numbers, or None for
the whole series. Slices keep the selection's order (a descending PVD gives a reversed volume),
and the geometry describes that order: origin = position of the first selected slice, third
direction column pointing from it towards the next one.

    geometry = volume_geometry(root, uid, pvd)           # headers only
    for piece in iter_slices(root, uid, geometry):       # one slice in memory at a time
        out.write(piece.pixels.tobytes())
    volume = build_volume(root, uid, pvd)                # everything in one (z, y, x) array
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
from pydicom.dataset import Dataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from circus_api.imaging.dicom_files import image_numbers, image_path
from circus_api.imaging.dicom_reading import lenient_values, read_dataset
from circus_api.imaging.dicom_values import element_value
from circus_api.imaging.errors import DicomReadError, VolumeError
from circus_api.imaging.pixels import native_pixel_type, native_slice_pixels, slice_pixels
from circus_api.imaging.ranges import pvd_image_numbers

Selection = Mapping[str, object] | Sequence[int] | None
Vector = tuple[float, float, float]
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010), little endian
_UNDEFINED_LENGTH = 0xFFFFFFFF


@dataclass(frozen=True)
class PixelDataLocation:
    """Where the header pass found an uncompressed Pixel Data value, and which file it was: the
    pixel pass then reads just those bytes instead of parsing the file again."""

    offset: int  # of the value, past the element header
    length: int
    file: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns


@dataclass(frozen=True)
class SliceHeader:
    image_number: int
    dataset: Dataset  # the file's header, without pixel data
    position: Vector | None  # ImagePositionPatient
    orientation: tuple[float, ...] | None  # ImageOrientationPatient (row x,y,z, column x,y,z)
    slice_location: float | None
    rows: int
    columns: int
    pixel_data: PixelDataLocation | None = None


@dataclass(frozen=True)
class VolumeGeometry:
    image_numbers: tuple[int, ...]
    size: tuple[int, int, int]  # x (columns), y (rows), z (slices)
    spacing: Vector  # mm, x y z
    origin: Vector  # mm, centre of the first voxel of the first selected slice
    # 3x3 row-major; the columns are the x, y and z axis directions (ITK/SimpleITK convention)
    direction: tuple[float, ...]
    pixel_type: np.dtype
    headers: tuple[SliceHeader, ...]


@dataclass(frozen=True)
class Slice:
    image_number: int
    pixels: np.ndarray  # (rows, columns) of geometry.pixel_type, little-endian


@dataclass(frozen=True)
class Volume:
    voxels: np.ndarray  # (z, y, x) of geometry.pixel_type, little-endian, C-contiguous
    geometry: VolumeGeometry


def selected_image_numbers(
    root: Path, series_uid: str, selection: Selection, *, use_hash: bool = False
) -> list[int]:
    if selection is None:
        numbers = image_numbers(root, series_uid, use_hash=use_hash)
    elif isinstance(selection, Mapping):
        try:
            numbers = pvd_image_numbers(selection)
        except ValueError as exc:
            raise VolumeError(str(exc)) from exc
    else:
        numbers = list(selection)
    if not numbers:
        raise VolumeError("no image")
    return numbers


def read_slice_header(root: Path, series_uid: str, image_number: int, *, use_hash: bool = False) -> SliceHeader:
    path = image_path(root, series_uid, image_number, use_hash=use_hash)
    try:
        fp = open(path, "rb")  # noqa: SIM115 (closed below)
    except FileNotFoundError as exc:
        raise VolumeError(f"image {image_number} not found") from exc
    except OSError as exc:
        raise VolumeError(f"image {image_number}: unreadable DICOM file: {exc}") from exc
    with fp, lenient_values():
        try:
            ds = read_dataset(fp, stop_before_pixels=True)
        except DicomReadError as exc:
            raise VolumeError(f"image {image_number}: {exc}") from exc
        pixel_data = _pixel_data_location(ds, fp)
        position = _numbers(ds, "ImagePositionPatient", 3)
        location = _numbers(ds, "SliceLocation", 1)
        rows, columns = _numbers(ds, "Rows", 1), _numbers(ds, "Columns", 1)
        if rows is None or columns is None:
            raise VolumeError(f"image {image_number} has no Rows/Columns")
        return SliceHeader(
            image_number=image_number,
            dataset=ds,
            position=(position[0], position[1], position[2]) if position else None,
            orientation=_numbers(ds, "ImageOrientationPatient", 6),
            slice_location=location[0] if location else None,
            rows=int(rows[0]),
            columns=int(columns[0]),
            pixel_data=pixel_data,
        )


def _pixel_data_location(ds: Dataset, fp: BinaryIO) -> PixelDataLocation | None:
    """The Pixel Data value that follows the header just read (pydicom leaves the file at the
    element it stopped before), when it is uncompressed little-endian data of defined length."""
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax not in (ExplicitVRLittleEndian, ImplicitVRLittleEndian):
        return None  # deflated, big endian, encapsulated: the file is parsed again
    start = fp.tell()
    head = fp.read(12)
    if head[:4] != _PIXEL_DATA_TAG:
        return None
    if syntax == ExplicitVRLittleEndian:
        if len(head) < 12 or head[4:6] not in (b"OW", b"OB") or head[6:8] != b"\0\0":
            return None
        length, size = int.from_bytes(head[8:12], "little"), 12
    else:
        if len(head) < 8:
            return None
        length, size = int.from_bytes(head[4:8], "little"), 8
    if length == _UNDEFINED_LENGTH:
        return None
    st = os.fstat(fp.fileno())
    return PixelDataLocation(start + size, length, (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns))


def volume_geometry(
    root: Path,
    series_uid: str,
    selection: Selection = None,
    *,
    use_hash: bool = False,
    pixel_type: np.dtype | None = None,
) -> VolumeGeometry:
    """Size, spacing, origin, direction and pixel type from the headers alone."""
    numbers = selected_image_numbers(root, series_uid, selection, use_hash=use_hash)
    headers = [read_slice_header(root, series_uid, n, use_hash=use_hash) for n in numbers]
    first = headers[0]
    for header in headers[1:]:
        if (header.rows, header.columns) != (first.rows, first.columns):
            raise VolumeError(
                f"image {header.image_number} is {header.columns}x{header.rows}, "
                f"image {first.image_number} is {first.columns}x{first.rows}"
            )
    with lenient_values():
        if pixel_type is None:
            types = {native_pixel_type(header.dataset) for header in headers}
            if len(types) > 1:
                raise VolumeError(f"the images have different pixel types: {sorted(map(str, types))}")
            pixel_type = types.pop()
        spacing_xy = _pixel_spacing(first.dataset)
    row, column, normal = _axes(first)
    sign = _slice_direction_sign(headers, normal)
    axis = tuple(sign * v for v in normal)
    direction = tuple(float(v) for triple in zip(row, column, axis, strict=True) for v in triple)
    return VolumeGeometry(
        image_numbers=tuple(numbers),
        size=(first.columns, first.rows, len(headers)),
        spacing=(spacing_xy[0], spacing_xy[1], slice_pitch(headers)),
        origin=first.position or (0.0, 0.0, 0.0),
        direction=direction,
        pixel_type=np.dtype(pixel_type).newbyteorder("<"),
        headers=tuple(headers),
    )


def iter_slices(root: Path, series_uid: str, geometry: VolumeGeometry, *, use_hash: bool = False) -> Iterator[Slice]:
    """The slices of `geometry`, in order, each read and decoded only when asked for."""
    rows, columns = geometry.size[1], geometry.size[0]
    for number, header in zip(geometry.image_numbers, geometry.headers, strict=True):
        path = image_path(root, series_uid, number, use_hash=use_hash)
        pixels = _known_pixels(path, header, geometry.pixel_type)
        if pixels is None:  # anything but plain uncompressed data, or the file changed: parse it
            with lenient_values():
                try:
                    ds = read_dataset(path)
                except DicomReadError as exc:
                    raise VolumeError(f"image {number}: {exc}") from exc
                pixels = slice_pixels(ds, geometry.pixel_type)
        if pixels.shape != (rows, columns):
            # the file changed since the headers were read (a re-upload)
            raise VolumeError(f"image {number} has shape {pixels.shape}, expected {(rows, columns)}")
        yield Slice(number, pixels)


def _known_pixels(path: Path, header: SliceHeader, pixel_type: np.dtype) -> np.ndarray | None:
    """The slice from the bytes the header pass located, if the file is still the one it read
    (stored images are replaced by rename, never rewritten in place); None otherwise."""
    location = header.pixel_data
    if location is None:
        return None
    try:
        with open(path, "rb") as fp:
            st = os.fstat(fp.fileno())
            if (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns) != location.file:
                return None
            fp.seek(location.offset)
            data = fp.read(location.length)
    except OSError:
        return None
    if len(data) != location.length:
        return None
    with lenient_values():
        return native_slice_pixels(header.dataset, data, pixel_type)


def build_volume(
    root: Path,
    series_uid: str,
    selection: Selection = None,
    *,
    use_hash: bool = False,
    pixel_type: np.dtype | None = None,
) -> Volume:
    geometry = volume_geometry(root, series_uid, selection, use_hash=use_hash, pixel_type=pixel_type)
    columns, rows, depth = geometry.size
    # one preallocated array: peak memory is the volume plus one slice
    voxels = np.empty((depth, rows, columns), dtype=geometry.pixel_type)
    for z, piece in enumerate(iter_slices(root, series_uid, geometry, use_hash=use_hash)):
        voxels[z] = piece.pixels
    return Volume(voxels, geometry)


def slice_pitch(headers: Sequence[SliceHeader]) -> float:
    """Distance between slices: the positions of the first two slices along the slice normal
    (right for any PVD step), else spec 5.5's chain: Spacing Between Slices of the first
    slice, the slice-location difference of the first two, 1."""
    if len(headers) >= 2 and headers[0].position and headers[1].position:
        normal = _axes(headers[0])[2]
        offset = np.subtract(headers[1].position, headers[0].position)
        distance = abs(float(np.dot(offset, normal)))
        if distance > 0:
            return distance
    with lenient_values():
        spacing = _numbers(headers[0].dataset, "SpacingBetweenSlices", 1)
    if spacing and spacing[0] > 0:
        return spacing[0]
    if len(headers) >= 2 and headers[0].slice_location is not None and headers[1].slice_location is not None:
        distance = abs(headers[1].slice_location - headers[0].slice_location)
        if distance > 0:
            return distance
    return 1.0


def _axes(header: SliceHeader) -> tuple[Vector, Vector, Vector]:
    """Row, column and normal unit vectors; the patient axes without an orientation."""
    if header.orientation is None:
        return (1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0)
    row, column = np.array(header.orientation[:3]), np.array(header.orientation[3:])
    normal = np.cross(row, column)
    return _vector(row), _vector(column), _vector(normal)


def _vector(values: np.ndarray) -> Vector:
    return float(values[0]), float(values[1]), float(values[2])


def _slice_direction_sign(headers: Sequence[SliceHeader], normal: Vector) -> float:
    """+1 when the slices advance along the normal, -1 when they go against it."""
    first, last = headers[0].position, headers[-1].position
    if first is None or last is None:
        return 1.0
    return -1.0 if float(np.dot(np.subtract(last, first), normal)) < 0 else 1.0


def _pixel_spacing(ds: Dataset) -> tuple[float, float]:
    """(x, y): DICOM stores (row spacing, column spacing) = (y, x)."""
    spacing = _numbers(ds, "PixelSpacing", 2)
    if spacing and spacing[0] > 0 and spacing[1] > 0:
        return spacing[1], spacing[0]
    return 1.0, 1.0


def _numbers(ds: Dataset, keyword: str, count: int) -> tuple[float, ...] | None:
    """The first `count` numeric values of an element, or None when absent or malformed."""
    value = element_value(ds[keyword]) if keyword in ds else None
    values = value if isinstance(value, list) else [value]
    numbers = [float(v) for v in values[:count] if isinstance(v, int | float)]
    return tuple(numbers) if len(numbers) == count else None
