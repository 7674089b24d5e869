"""Voxel labels (spec 5.1): packed bit blobs placed in a volume, one slice at a time.

A blob holds `size[0] * size[1] * size[2]` bits, x fastest then y then z, most significant bit
first. The box sits at `origin` (voxel indices) in the volume; parts outside the volume are
clipped. Nothing here materialises a whole label or volume: a plane is unpacked from the packed
bytes when it is asked for, so memory stays near one slice whatever the box size.

    planes = isolated_planes(label, (w, h, d))        # 0/1 per voxel
    planes = combined_planes(labels, (w, h, d))       # j + 1 of the covering label, later wins
    for plane in planes: out.write(plane.tobytes())   # each plane is (h, w) uint8
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from circus_api.imaging.errors import ImagingError

Triple = tuple[int, int, int]


class LabelError(ImagingError):
    """A voxel label cannot be placed: malformed origin/size, or a blob too short for its box."""


@dataclass(frozen=True)
class VoxelLabel:
    index: int  # position among all labels of the series entry (voxel or not): `label<jjj>`
    origin: Triple  # x, y, z of the box's first voxel in the volume
    size: Triple  # x, y, z extent of the box
    bits: bytes  # the packed blob

    def __post_init__(self) -> None:
        if any(n < 0 for n in self.size):
            raise LabelError(f"label {self.index}: negative size {self.size}")
        needed = (self.size[0] * self.size[1] * self.size[2] + 7) // 8
        if len(self.bits) < needed:
            raise LabelError(f"label {self.index}: the blob has {len(self.bits)} bytes, the box needs {needed}")

    @classmethod
    def from_label(cls, index: int, data: Mapping[str, object], bits: bytes) -> VoxelLabel:
        """From a label's `data` (`origin`, `size`) and its blob's bytes."""
        return cls(index, _triple(data.get("origin", [0, 0, 0]), index, "origin"),
                   _triple(data.get("size"), index, "size"), bits)

    def box_plane(self, z: int) -> np.ndarray:
        """Plane `z` of the box as a (size_y, size_x) bool array, unpacked from the packed bits."""
        sx, sy, _ = self.size
        count = sx * sy
        first_bit = z * count
        start, skip = divmod(first_bit, 8)
        stop = (first_bit + count + 7) // 8
        packed = np.frombuffer(self.bits, dtype=np.uint8, count=stop - start, offset=start)
        # unpackbits is MSB-first by default, the blob's order
        return np.unpackbits(packed)[skip:skip + count].reshape(sy, sx).view(bool)


def unpack_label(bits: bytes, size: Sequence[int]) -> np.ndarray:
    """The whole box as a (z, y, x) bool array (tests and small boxes; exports go plane by plane)."""
    sx, sy, sz = (int(n) for n in size)
    count = sx * sy * sz
    if len(bits) * 8 < count:
        raise LabelError(f"the blob has {len(bits)} bytes, a {sx}x{sy}x{sz} box needs {(count + 7) // 8}")
    return np.unpackbits(np.frombuffer(bits, dtype=np.uint8))[:count].reshape(sz, sy, sx).view(bool)


def pack_label(mask: np.ndarray) -> bytes:
    """A (z, y, x) mask as a blob: the inverse of unpack_label (clients do this before uploading)."""
    return np.packbits(np.asarray(mask, dtype=bool).ravel()).tobytes()


@dataclass(frozen=True)
class _Placement:
    """Where a label's plane `z` lands in a volume plane: the clipped x/y windows of both."""

    label: VoxelLabel
    box_y: slice
    box_x: slice
    volume_y: slice
    volume_x: slice

    @classmethod
    def of(cls, label: VoxelLabel, width: int, height: int) -> _Placement | None:
        x = _clip(label.origin[0], label.size[0], width)
        y = _clip(label.origin[1], label.size[1], height)
        if x is None or y is None:
            return None
        return cls(label, y[0], x[0], y[1], x[1])

    def box_z(self, volume_z: int) -> int | None:
        z = volume_z - self.label.origin[2]
        return z if 0 <= z < self.label.size[2] else None

    def mask(self, box_z: int) -> np.ndarray:
        return self.label.box_plane(box_z)[self.box_y, self.box_x]


def isolated_planes(label: VoxelLabel, dimensions: Sequence[int]) -> Iterator[np.ndarray]:
    """The (h, w) uint8 planes of a volume of `dimensions` (w, h, d): 1 inside the label, 0 elsewhere."""
    return combined_planes([label], dimensions, values=[1])


def combined_planes(
    labels: Sequence[VoxelLabel], dimensions: Sequence[int], values: Sequence[int] | None = None
) -> Iterator[np.ndarray]:
    """The (h, w) uint8 planes where each voxel holds the value of the last label covering it.

    Values default to `index + 1` (spec 5.4 combined mode); 0 is the background.
    """
    width, height, depth = (int(n) for n in dimensions)
    values = [label.index + 1 for label in labels] if values is None else list(values)
    if any(not 0 < v < 256 for v in values):
        raise LabelError("label values must fit in uint8 (at most 255 labels per series)")
    placements = [(p, v) for label, v in zip(labels, values, strict=True)
                  if (p := _Placement.of(label, width, height)) is not None]
    for z in range(depth):
        plane = np.zeros((height, width), dtype=np.uint8)
        for placement, value in placements:  # in order: a later label overwrites an earlier one
            box_z = placement.box_z(z)
            if box_z is not None:
                plane[placement.volume_y, placement.volume_x][placement.mask(box_z)] = value
        yield plane


def _clip(origin: int, size: int, extent: int) -> tuple[slice, slice] | None:
    """(window in the box, window in the volume) along one axis, or None when they do not meet."""
    low, high = max(origin, 0), min(origin + size, extent)
    if low >= high:
        return None
    return slice(low - origin, high - origin), slice(low, high)


def _triple(value: object, index: int, name: str) -> Triple:
    if not isinstance(value, list | tuple) or len(value) != 3:
        raise LabelError(f"label {index}: {name} must be 3 integers, got {value!r}")
    numbers = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, int | float) or not float(item).is_integer():
            raise LabelError(f"label {index}: {name} must be 3 integers, got {value!r}")
        numbers.append(int(item))
    return numbers[0], numbers[1], numbers[2]
