"""What the image viewer reads: one slice from one file, reformatted planes of a cached volume,
and the viewer's description of a volume (metadata).

The fast path of the viewer is a single axial slice: one DICOM file read and decoded, nothing
else (no headers of the other slices, no volume). Coronal and sagittal planes need the whole
volume, which `VolumeCache` builds once (with `volumes.build_volume`) and keeps, a bounded number
of them, for the process.

    version = series_version(root, uid)                  # changes whenever a file of the series does
    pixels = read_slice(root, uid, image_number)         # (rows, columns), the volume's pixel type
    volume = cache.get(key, lambda: build_volume(root, uid, numbers))
    plane = reformat_plane(volume.voxels, "coronal", y)  # (slices, columns)
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from circus_api.imaging.dicom_files import image_path, series_dir
from circus_api.imaging.dicom_reading import lenient_values, read_dataset
from circus_api.imaging.dicom_values import element_value
from circus_api.imaging.errors import DicomReadError, VolumeError
from circus_api.imaging.pixels import is_ct, native_pixel_type, slice_pixels
from circus_api.imaging.volumes import Volume, VolumeGeometry, iter_slices

Axis = Literal["axial", "coronal", "sagittal"]
AXES: tuple[Axis, ...] = ("axial", "coronal", "sagittal")
# bump when what a slice URL returns for the same file changes (pixel conversion rules)
FORMAT_VERSION = "1"


class ImageNotFound(VolumeError):
    """An image of the selection has no file in the repository."""


# ---- versions and ETags ------------------------------------------------------------------------


def series_version(root: Path, series_uid: str) -> int:
    """The series folder's modification time (ns), 0 when there is no folder.

    Every write of the repository creates a temporary file in the folder and renames it (see
    `dicom_files.write_image`), both of which change the folder's time: a new version whenever
    an image is added or replaced."""
    try:
        return os.stat(series_dir(root, series_uid)).st_mtime_ns
    except FileNotFoundError:
        return 0


def image_etag(root: Path, series_uid: str, image_number: int) -> str:
    """A strong ETag for the slice served from one file: its identity, size and time."""
    path = image_path(root, series_uid, image_number)
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        raise ImageNotFound(f"image {image_number} not found") from None
    return make_etag(FORMAT_VERSION, path, stat.st_ino, stat.st_size, stat.st_mtime_ns)


def make_etag(*parts: object) -> str:
    digest = hashlib.sha1("\x00".join(map(str, parts)).encode(), usedforsecurity=False).hexdigest()
    return f'"{digest[:32]}"'


# ---- one slice ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SliceInfo:
    """What a viewer needs to draw a slice before it has the series' metadata."""

    modality: str
    hounsfield: bool  # CT: values are HU
    pixel_spacing: tuple[float, float]  # x, y (mm)
    window: tuple[float, float] | None  # level, width in the served values' units


def read_slice(root: Path, series_uid: str, image_number: int, pixel_type: np.dtype | None = None) -> np.ndarray:
    """One image's pixels as a (rows, columns) little-endian array of `pixel_type`, by default
    the file's own volume pixel type (int16 HU for CT, the stored type otherwise)."""
    return read_slice_info(root, series_uid, image_number, pixel_type)[0]


def read_slice_info(
    root: Path, series_uid: str, image_number: int, pixel_type: np.dtype | None = None
) -> tuple[np.ndarray, SliceInfo]:
    """`read_slice` plus the file's modality, pixel spacing and window."""
    path = image_path(root, series_uid, image_number)
    with lenient_values():
        try:
            ds = read_dataset(path)
        except DicomReadError as exc:
            if not path.exists():
                raise ImageNotFound(f"image {image_number} not found") from exc
            raise VolumeError(f"image {image_number}: {exc}") from exc
        chosen = native_pixel_type(ds) if pixel_type is None else np.dtype(pixel_type)
        pixels = slice_pixels(ds, chosen)
        ct = is_ct(ds)
        spacing = _pixel_spacing(ds)
        info = SliceInfo(str(ds.get("Modality", "") or "").strip(), ct, spacing, _window(ds, ct))
    return pixels, info


# ---- planes ------------------------------------------------------------------------------------


def plane_count(size: Sequence[int], axis: Axis) -> int:
    """How many planes the volume of `size` (x, y, z) has along `axis`."""
    return {"axial": size[2], "coronal": size[1], "sagittal": size[0]}[axis]


def reformat_plane(voxels: np.ndarray, axis: Axis, index: int) -> np.ndarray:
    """Plane `index` of a (z, y, x) volume, C-contiguous: axial (y, x), coronal (z, x) at row
    `index`, sagittal (z, y) at column `index`. Rows follow the volume order of the slices."""
    if axis == "axial":
        plane = voxels[index]
    elif axis == "coronal":
        plane = voxels[:, index, :]
    elif axis == "sagittal":
        plane = voxels[:, :, index]
    else:
        raise ValueError(f"unknown axis {axis!r}")
    return np.ascontiguousarray(plane)


def dtype_name(pixel_type: np.dtype) -> str:
    """`int16`, `uint16`, ...: the name of the JavaScript typed array's element (little-endian)."""
    return np.dtype(pixel_type).newbyteorder("=").name


# ---- the viewer's metadata ---------------------------------------------------------------------


def viewer_metadata(geometry: VolumeGeometry) -> dict[str, Any]:
    """The description the viewer needs to lay out and label a volume, JSON-ready."""
    first = geometry.headers[0]
    ds = first.dataset
    with lenient_values():
        ct = is_ct(ds)
        modality = str(ds.get("Modality", "") or "").strip()
        slope, intercept = _rescale(ds)
        window = _window(ds, ct)
        description = str(ds.get("SeriesDescription", "") or "")
    positions = [list(h.position) if h.position else None for h in geometry.headers]
    return {
        "modality": modality,
        "seriesDescription": description,
        "size": list(geometry.size),
        "imageNumbers": list(geometry.image_numbers),
        "spacing": list(geometry.spacing),
        "pixelSpacing": [geometry.spacing[0], geometry.spacing[1]],
        "sliceSpacing": geometry.spacing[2],
        "origin": list(geometry.origin),
        "direction": list(geometry.direction),
        "orientation": list(first.orientation) if first.orientation else None,
        "imagePositions": positions,
        "slicePositions": [_slice_position(geometry, k) for k in range(len(geometry.headers))],
        "dtype": dtype_name(geometry.pixel_type),
        "hounsfield": ct,
        "rescale": {"slope": slope, "intercept": intercept, "applied": ct},
        "window": {"level": window[0], "width": window[1]} if window else None,
    }


def _slice_position(geometry: VolumeGeometry, k: int) -> float:
    """The slice's position in mm as viewers show it: patient z for axial images (the
    ImagePositionPatient z), else its Slice Location, else its distance from the first slice."""
    header = geometry.headers[k]
    if header.position is not None:
        return header.position[2]
    if header.slice_location is not None:
        return header.slice_location
    return k * geometry.spacing[2]


def _rescale(ds: Any) -> tuple[float, float]:
    slope = _first_number(ds, "RescaleSlope")
    intercept = _first_number(ds, "RescaleIntercept")
    return (1.0 if slope is None or slope == 0 else slope), (0.0 if intercept is None else intercept)


def _window(ds: Any, ct: bool) -> tuple[float, float] | None:
    """The file's first Window Center/Width, in the units of the served pixels."""
    center = _first_number(ds, "WindowCenter")
    width = _first_number(ds, "WindowWidth")
    if center is None or width is None or width <= 0:
        return None
    slope, intercept = _rescale(ds)
    if not ct and (slope != 1 or intercept != 0):
        # DICOM windows are in rescaled units; non-CT pixels are served as stored
        return (center - intercept) / slope, width / abs(slope)
    return center, width


def _pixel_spacing(ds: Any) -> tuple[float, float]:
    """(x, y); DICOM stores (row spacing, column spacing) = (y, x)."""
    value = element_value(ds["PixelSpacing"]) if "PixelSpacing" in ds else None
    if isinstance(value, list) and len(value) >= 2 and all(isinstance(v, int | float) and v > 0 for v in value[:2]):
        return float(value[1]), float(value[0])
    return 1.0, 1.0


def _first_number(ds: Any, keyword: str) -> float | None:
    value = element_value(ds[keyword]) if keyword in ds else None
    if isinstance(value, list):
        value = value[0] if value else None
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


# ---- the volume cache --------------------------------------------------------------------------


@dataclass
class _Entry:
    lock: threading.Lock
    volume: Volume | None = None


class VolumeCache:
    """Whole volumes kept for reformatting, least recently used first out.

    Thread-safe: builds run in worker threads, each key is built once however many requests
    ask for it at the same time (the others wait for that build), and a failed build leaves
    nothing behind. Bounded by a count and a byte total; the volume just built is always kept.
    """

    def __init__(self, max_volumes: int = 2, max_bytes: int = 1 << 30) -> None:
        self.max_volumes = max_volumes
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self.builds = 0  # how many volumes were built (tests, diagnostics)

    def get(self, key: Hashable, build: Callable[[], Volume]) -> Volume:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                entry = self._entries[key] = _Entry(threading.Lock())
            self._entries.move_to_end(key)
        with entry.lock:
            if entry.volume is None:
                try:
                    entry.volume = build()
                except BaseException:
                    with self._lock:
                        if self._entries.get(key) is entry:
                            del self._entries[key]
                    raise
                with self._lock:
                    self.builds += 1
                    self._evict(keep=key)
            return entry.volume

    def peek(self, key: Hashable) -> Volume | None:
        """The volume if it is built, without building it or changing the order."""
        with self._lock:
            entry = self._entries.get(key)
            return entry.volume if entry is not None else None

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def nbytes(self) -> int:
        with self._lock:
            return self._nbytes()

    def __len__(self) -> int:
        with self._lock:
            return sum(1 for e in self._entries.values() if e.volume is not None)

    def _nbytes(self) -> int:
        return sum(e.volume.voxels.nbytes for e in self._entries.values() if e.volume is not None)

    def _evict(self, keep: Hashable) -> None:
        """Drop built volumes, oldest first, while over a bound (entries still building stay)."""
        for key in list(self._entries):
            built = [k for k, e in self._entries.items() if e.volume is not None]
            if len(built) <= self.max_volumes and self._nbytes() <= self.max_bytes:
                return
            if key != keep and self._entries[key].volume is not None:
                del self._entries[key]


def volume_from_geometry(root: Path, series_uid: str, geometry: VolumeGeometry) -> Volume:
    """`volumes.build_volume` for a geometry already read (the headers are not read again)."""
    columns, rows, depth = geometry.size
    voxels = np.empty((depth, rows, columns), dtype=geometry.pixel_type)
    for z, piece in enumerate(iter_slices(root, series_uid, geometry)):
        voxels[z] = piece.pixels
    return Volume(voxels, geometry)
