"""The image viewer's server side (CIRCUS RS mount `/rs`): metadata, raw axial slices read from
one file each, coronal/sagittal planes of a cached volume, and the whole volume as a stream.

Pixels are sent raw (little-endian, CT as int16 HU, anything else in its stored type) and
windowed in the browser. Every answer carries a strong ETag; a matching If-None-Match gives a
NotModified answer before any pixel is read.

A view is a series plus a selection of its images, in volume order: all of them (ascending
image numbers), a PVD `start,end,delta`, or an `images` range.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import series as series_db
from circus_api.errors import BadRequest, CircusError, Forbidden, NotFound
from circus_api.imaging.errors import ImagingError
from circus_api.imaging.ranges import parse_range, parse_segments, pvd_fits, pvd_image_numbers, validate_pvd
from circus_api.imaging.slices import (
    AXES,
    FORMAT_VERSION,
    ImageNotFound,
    SliceInfo,
    VolumeCache,
    dtype_name,
    image_etag,
    make_etag,
    plane_count,
    read_slice,
    read_slice_info,
    reformat_plane,
    series_version,
    viewer_metadata,
    volume_from_geometry,
)
from circus_api.imaging.volumes import VolumeGeometry, iter_slices, volume_geometry
from circus_api.privileges import Privileges
from circus_api.services.series import DOMAIN_REFUSED, NOT_FOUND

# whole volumes for reformats: a 512x512x300 CT is 150 MiB
VOLUMES = VolumeCache(max_volumes=2, max_bytes=1 << 30)
# Cache-Control of pixel answers: a browser may reuse them for an hour, then revalidates (ETag)
CACHE_CONTROL = "private, max-age=3600"
MAX_SELECTED_IMAGES = 100_000
MAX_BATCH = 64  # slices of one /slices answer (32 MiB of 512x512 int16)
REFORMAT_AXES = tuple(a for a in AXES if a != "axial")

_INDEX = re.compile(r"0|[1-9][0-9]{0,8}")
_PVD = re.compile(r"(-?[0-9]{1,9}),(-?[0-9]{1,9}),(-?[0-9]{1,9})")


@dataclass(frozen=True)
class SeriesView:
    """A series the caller may see, with the images of the volume in volume order."""

    series_uid: str
    image_numbers: tuple[int, ...]
    selection: str  # how the selection was given: "" (all), "pvd=...", "images=..."


@dataclass(frozen=True)
class RawPlane:
    """A plane of pixels, or (`data` None) the news that the client's copy is current."""

    etag: str
    data: bytes | None = None
    width: int = 0
    height: int = 0
    dtype: str = ""
    image_number: int | None = None
    info: SliceInfo | None = None  # single axial slices: enough to draw before the metadata


@dataclass(frozen=True)
class VolumeStream:
    etag: str
    size: tuple[int, int, int]
    dtype: str
    length: int
    chunks: AsyncIterator[bytes] | None  # None: not modified


# ---- the view ----------------------------------------------------------------------------------


async def open_view(
    db: AsyncDatabase, privileges: Privileges, series_uid: str, pvd: str | None, images: str | None
) -> SeriesView:
    """The series (404), the caller's domain (403), then the selection (400)."""
    series = await series_db.find(db, series_uid)
    if series is None:
        raise NotFound(NOT_FOUND)
    if series.get("domain") not in privileges.domains:
        raise Forbidden(DOMAIN_REFUSED)
    images_field = series.get("images")
    stored = images_field if isinstance(images_field, str) else ""
    numbers, selection = select_images(stored, pvd, images)
    return SeriesView(series_uid, tuple(numbers), selection)


def select_images(stored: str, pvd: str | None, images: str | None) -> tuple[list[int], str]:
    """Image numbers in volume order for the query's `pvd` or `images`, inside `stored`."""
    if pvd and images:
        raise BadRequest("Give either pvd or images, not both.")
    try:
        stored_segments = parse_segments(stored)
    except ValueError:  # a corrupt range holds no usable image
        stored_segments = []
    if pvd:
        match = _PVD.fullmatch(pvd)
        descriptor = {k: int(v) for k, v in zip(("start", "end", "delta"), match.groups(), strict=True)} if match \
            else None
        if descriptor is None or not validate_pvd(descriptor):
            raise BadRequest("Invalid partial volume descriptor: give pvd=start,end,delta.")
        if not pvd_fits(descriptor, stored):
            raise BadRequest("Specified range is invalid.")
        return pvd_image_numbers(descriptor), f"pvd={pvd}"
    if images:
        try:
            numbers = parse_range(images, MAX_SELECTED_IMAGES)
        except ValueError:
            raise BadRequest("Invalid images range.") from None
        if not numbers or not all(any(lo <= n <= hi for lo, hi in stored_segments) for n in numbers):
            raise BadRequest("Specified range is invalid.")
        return numbers, f"images={images}"
    numbers = [n for lo, hi in stored_segments for n in range(lo, hi + 1)][:MAX_SELECTED_IMAGES]
    if not numbers:
        raise NotFound("This series has no image.")
    return numbers, ""


def parse_index(text: str, count: int) -> int:
    if not _INDEX.fullmatch(text) or int(text) >= count:
        raise BadRequest(f"Invalid slice index: give an integer from 0 to {count - 1}.")
    return int(text)


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags


# ---- metadata ----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _geometry(root: Path, series_uid: str, numbers: tuple[int, ...], version: int) -> VolumeGeometry:
    """Headers of every selected image (~1 ms each), kept per series version."""
    del version  # part of the key only: a changed series has a new version
    return volume_geometry(root, series_uid, list(numbers))


def _view_geometry(root: Path, view: SeriesView) -> tuple[VolumeGeometry, int]:
    version = series_version(root, view.series_uid)
    try:
        return _geometry(root, view.series_uid, view.image_numbers, version), version
    except ImagingError as exc:
        raise _imaging_error(exc) from exc


def _imaging_error(exc: ImagingError) -> CircusError:
    if isinstance(exc, ImageNotFound) or str(exc).endswith("not found"):
        return NotFound(f"The series' files are incomplete: {exc}.")
    return CircusError(f"The series cannot be shown: {exc}", 500)


async def metadata(dicom_dir: Path, view: SeriesView) -> dict[str, Any]:
    def describe() -> dict[str, Any]:
        geometry, _ = _view_geometry(dicom_dir, view)
        return {"seriesUid": view.series_uid, "selection": view.selection, **viewer_metadata(geometry)}

    return await anyio.to_thread.run_sync(describe)


# ---- pixels ------------------------------------------------------------------------------------


async def axial_slice(dicom_dir: Path, view: SeriesView, index_text: str, if_none_match: str | None) -> RawPlane:
    """Slice `index` of the view, read from its one file (no other header, no volume)."""
    index = parse_index(index_text, len(view.image_numbers))
    number = view.image_numbers[index]

    def read() -> RawPlane:
        try:
            etag = image_etag(dicom_dir, view.series_uid, number)
            if etag_matches(if_none_match, etag):
                return RawPlane(etag, image_number=number)
            pixels, info = read_slice_info(dicom_dir, view.series_uid, number)
        except ImagingError as exc:
            raise _imaging_error(exc) from exc
        height, width = pixels.shape
        return RawPlane(etag, pixels.tobytes(), width, height, dtype_name(pixels.dtype), number, info)

    return await anyio.to_thread.run_sync(read)


async def axial_slices(dicom_dir: Path, view: SeriesView, range_text: str, if_none_match: str | None) -> RawPlane:
    """Consecutive slices `first-last` of the view in one answer (at most MAX_BATCH), concatenated
    in index order: what the viewer prefetches, so that authentication and the series lookup
    are paid once for many slices."""
    first, last = parse_index_range(range_text, len(view.image_numbers))
    numbers = view.image_numbers[first:last + 1]

    def read() -> RawPlane:
        try:
            etag = make_etag(*(image_etag(dicom_dir, view.series_uid, n) for n in numbers))
            if etag_matches(if_none_match, etag):
                return RawPlane(etag)
            planes = [read_slice(dicom_dir, view.series_uid, n) for n in numbers]
        except ImagingError as exc:
            raise _imaging_error(exc) from exc
        shapes = {(p.shape, p.dtype) for p in planes}
        if len(shapes) > 1:
            raise CircusError("The series cannot be shown: its images differ in size or pixel type.", 500)
        height, width = planes[0].shape
        return RawPlane(etag, b"".join(p.tobytes() for p in planes), width, height, dtype_name(planes[0].dtype))

    return await anyio.to_thread.run_sync(read)


def parse_index_range(text: str, count: int) -> tuple[int, int]:
    """`first-last` (inclusive, ascending, at most MAX_BATCH slices) inside 0..count-1."""
    first_text, dash, last_text = text.partition("-")
    valid = dash and _INDEX.fullmatch(first_text) and _INDEX.fullmatch(last_text)
    first, last = (int(first_text), int(last_text)) if valid else (0, -1)
    if not valid or not first <= last < count or last - first >= MAX_BATCH:
        raise BadRequest(f"Invalid slice range: give first-last, ascending, from 0 to {count - 1}, "
                         f"at most {MAX_BATCH} slices.")
    return first, last


def _volume_key(dicom_dir: Path, view: SeriesView, version: int) -> tuple[Any, ...]:
    return (str(dicom_dir), view.series_uid, view.image_numbers, version)


def _selection_digest(view: SeriesView) -> str:
    return hashlib.sha1(",".join(map(str, view.image_numbers)).encode(), usedforsecurity=False).hexdigest()


async def reformat(
    dicom_dir: Path, view: SeriesView, axis: str, index_text: str, if_none_match: str | None
) -> RawPlane:
    """A coronal or sagittal plane: rows follow the volume order of the slices. The first call
    for a view builds its whole volume (about a second for 300 slices of 512x512); later ones
    cut planes from the cached volume."""
    axis = axis.lower()
    if axis not in REFORMAT_AXES:
        raise BadRequest("Invalid axis: give coronal or sagittal.")

    def cut() -> RawPlane:
        geometry, version = _view_geometry(dicom_dir, view)
        index = parse_index(index_text, plane_count(geometry.size, axis))
        etag = make_etag(FORMAT_VERSION, dicom_dir, view.series_uid, _selection_digest(view), version, axis, index)
        if etag_matches(if_none_match, etag):
            return RawPlane(etag)
        try:
            volume = VOLUMES.get(
                _volume_key(dicom_dir, view, version),
                lambda: volume_from_geometry(dicom_dir, view.series_uid, geometry),
            )
        except ImagingError as exc:
            raise _imaging_error(exc) from exc
        plane = reformat_plane(volume.voxels, axis, index)
        height, width = plane.shape
        return RawPlane(etag, plane.tobytes(), width, height, dtype_name(plane.dtype))

    return await anyio.to_thread.run_sync(cut)


async def volume(dicom_dir: Path, view: SeriesView, if_none_match: str | None) -> VolumeStream:
    """The whole volume, (z, y, x) little-endian, streamed a slice at a time (from the reformat
    cache when the volume is there, else read file by file in worker threads)."""
    geometry, version = await anyio.to_thread.run_sync(_view_geometry, dicom_dir, view)
    etag = make_etag(FORMAT_VERSION, dicom_dir, view.series_uid, _selection_digest(view), version, "volume")
    x, y, z = geometry.size
    length = x * y * z * geometry.pixel_type.itemsize
    dtype = dtype_name(geometry.pixel_type)
    if etag_matches(if_none_match, etag):
        return VolumeStream(etag, geometry.size, dtype, length, None)
    cached = VOLUMES.peek(_volume_key(dicom_dir, view, version))
    if cached is not None:
        planes: Iterator[bytes] = (cached.voxels[k].tobytes() for k in range(z))
    else:
        planes = (piece.pixels.tobytes() for piece in iter_slices(dicom_dir, view.series_uid, geometry))
    return VolumeStream(etag, geometry.size, dtype, length, _in_threads(planes))


async def _in_threads(planes: Iterator[bytes]) -> AsyncIterator[bytes]:
    while True:
        try:
            chunk = await anyio.to_thread.run_sync(next, planes, None)
        except ImagingError as exc:  # headers are sent: the best left is a short body
            raise _imaging_error(exc) from exc
        if chunk is None:
            return
        yield chunk

