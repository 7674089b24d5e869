"""Synthetic chest CT phantoms for the sample plug-ins, written in the job manager's input layout.

A body of soft tissue (~40 HU) in air, two lungs (-850 HU), a spine (+400 HU), thin vessels
in the lungs and spherical nodules (~+40 HU) at known voxel positions, plus seeded noise.
`write_input` writes `<i>.mhd` / `<i>.raw` / `<i>.json` exactly like the job manager (spec 5.3):
the header comes from circus_api.imaging.mhd, voxels are little-endian int16 HU in x-fastest order.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from circus_api.imaging.mhd import mhd_header
from tests.circus_api.imaging.synthetic import _slice_dataset

BODY_HU, LUNG_HU, BONE_HU, OUTSIDE_HU = 40, -850, 400, -1000


@dataclass(frozen=True)
class Nodule:
    center: tuple[int, int, int]  # voxel index (x, y, z)
    radius_mm: float
    hu: int = 40


@dataclass(frozen=True)
class Vessel:
    start: tuple[float, float, float]  # voxel index (x, y, z)
    end: tuple[float, float, float]
    radius_mm: float = 1.2
    hu: int = 40


@dataclass
class Phantom:
    hu: np.ndarray  # int16, indexed [z, y, x]
    spacing: tuple[float, float, float]  # x, y, z in mm
    nodules: list[Nodule] = field(default_factory=list)


DEFAULT_NODULES = (
    Nodule((52, 58, 24), 4.0),
    Nodule((112, 72, 36), 6.0),
    Nodule((46, 84, 44), 8.0),
)
DEFAULT_VESSELS = (
    Vessel((40, 40, 10), (60, 95, 55)),  # long oblique vessel through the right lung
    Vessel((105, 50, 12), (120, 90, 30)),  # one in the left lung
)


def make_chest_phantom(
    shape_xyz: tuple[int, int, int] = (160, 128, 64),
    spacing: tuple[float, float, float] = (0.8, 0.8, 1.5),
    nodules: Sequence[Nodule] = DEFAULT_NODULES,
    vessels: Sequence[Vessel] = DEFAULT_VESSELS,
    noise_hu: float = 15.0,
    seed: int = 7,
) -> Phantom:
    nx, ny, nz = shape_xyz
    sx, sy, sz = spacing
    # physical coordinates (mm) of every voxel centre, relative to the volume centre
    z, y, x = np.meshgrid(
        (np.arange(nz) - (nz - 1) / 2) * sz,
        (np.arange(ny) - (ny - 1) / 2) * sy,
        (np.arange(nx) - (nx - 1) / 2) * sx,
        indexing="ij",
    )
    width, height, depth = nx * sx, ny * sy, nz * sz
    hu = np.full((nz, ny, nx), OUTSIDE_HU, dtype=np.float32)
    body = (x / (0.46 * width)) ** 2 + (y / (0.42 * height)) ** 2 <= 1
    hu[body] = BODY_HU
    for side in (-1, 1):  # two lungs, ellipsoids that leave the top and bottom slices lung-free
        lung = (
            ((x - side * 0.21 * width) / (0.16 * width)) ** 2
            + (y / (0.3 * height)) ** 2
            + (z / (0.42 * depth)) ** 2
        ) <= 1
        hu[lung] = LUNG_HU
    spine = ((x / (0.05 * width)) ** 2 + ((y - 0.3 * height) / (0.06 * height)) ** 2) <= 1
    hu[spine] = BONE_HU

    def to_mm(index: Sequence[float]) -> np.ndarray:
        return (np.asarray(index, dtype=float) - (np.array([nx, ny, nz]) - 1) / 2) * np.array(spacing)

    for vessel in vessels:
        a, b = to_mm(vessel.start), to_mm(vessel.end)
        d = b - a
        t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / float(d @ d), 0, 1)
        dist2 = (x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (z - a[2] - t * d[2]) ** 2
        hu[dist2 <= vessel.radius_mm**2] = vessel.hu
    for nodule in nodules:
        c = to_mm(nodule.center)
        inside = (x - c[0]) ** 2 + (y - c[1]) ** 2 + (z - c[2]) ** 2 <= nodule.radius_mm**2
        hu[inside] = nodule.hu
    rng = np.random.default_rng(seed)
    hu += rng.normal(0.0, noise_hu, hu.shape).astype(np.float32)
    return Phantom(np.clip(np.rint(hu), -1024, 3071).astype(np.int16), spacing, list(nodules))


def write_input(directory: Path, volumes: Sequence[tuple[np.ndarray, tuple[float, float, float]]]) -> None:
    """`<i>.mhd`, `<i>.raw`, `<i>.json` for each (HU [z, y, x], spacing) pair, world-readable."""
    directory.mkdir(parents=True, exist_ok=True)
    for index, (hu, spacing) in enumerate(volumes):
        nz, ny, nx = hu.shape
        (directory / f"{index}.raw").write_bytes(hu.astype("<i2").tobytes())
        header = mhd_header((nx, ny, nz), np.dtype(np.int16), spacing, f"{index}.raw")
        (directory / f"{index}.mhd").write_text(header, encoding="ascii", newline="")
        # a minimal tag dump: what a plug-in may look at (modality, rescale already applied)
        tags = {"common": {"0008,0060": "CT", "0028,0030": [spacing[1], spacing[0]]},
                "unique": [{"0020,0013": z + 1} for z in range(nz)]}
        (directory / f"{index}.json").write_text(json.dumps(tags, indent=2), encoding="utf-8")
    for path in [directory, *directory.iterdir()]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def dicom_files(phantom: Phantom) -> tuple[str, dict[str, bytes]]:
    """The phantom as a CT series of Part 10 files (signed int16 HU), `<8-digit instance
    number>.dcm` -> bytes; returns (series UID, files). Instance n is slice z = n - 1, at
    ImagePositionPatient z = (n - 1) * spacing z (feet to head as n grows), axial orientation;
    so the PVD 1..N with delta 1 gives back the phantom's voxel order, and `auto` (most superior
    slice first) gives N..1 with delta -1."""
    series_uid, study_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    nz, ny, nx = phantom.hu.shape
    sx, sy, sz = phantom.spacing
    files = {}
    for z in range(nz):
        position = (-(nx - 1) * sx / 2, -(ny - 1) * sy / 2, z * sz)
        ds = _slice_dataset(study_uid, series_uid, frame_uid, z + 1, position, phantom.spacing, phantom.hu[z], True)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        files[f"{z + 1:08d}.dcm"] = out.getvalue()
    return str(series_uid), files


def write_dicom_series(dicom_dir: Path, phantom: Phantom) -> str:
    """The phantom (`dicom_files`) written into a DICOM repository, `<dicom_dir>/<series UID>/`.
    Returns the series UID."""
    series_uid, files = dicom_files(phantom)
    folder = dicom_dir / series_uid
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return series_uid
