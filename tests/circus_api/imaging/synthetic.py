"""Synthetic CT series written with pydicom (recipe: shared/notes/infrastructure.md section 5).

Reusable by benchmarks and plug-in tests. Files are named `<8-digit instance number>.dcm`, so
`write_ct_series(root / uid, ..., series_uid=uid)` fills a CIRCUS DICOM repository directly.
Head-first (the default) means instance 1 is the top slice and Z decreases with the instance
number, like `head-first001..010.dcm` of the CIRCUS fixtures.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

AIR, WATER, BONE, NODULE = -1000, 0, 700, 60


@dataclass(frozen=True)
class Sphere:
    center: tuple[float, float, float]  # mm, patient coordinates
    radius: float  # mm
    hu: int


@dataclass(frozen=True)
class SyntheticSeries:
    series_uid: str
    study_uid: str
    # instance number -> Part 10 bytes
    files: dict[int, bytes]
    # HU voxels (z, y, x), z in instance-number order
    hu: np.ndarray
    # z position of each instance, in instance-number order
    z_positions: list[float]


def make_ct_series(
    n_slices: int,
    size: int | tuple[int, int] = 64,
    spacing: tuple[float, float, float] = (0.7, 0.7, 1.25),
    head_first: bool = True,
    spheres: Sequence[Sphere] | None = None,
    *,
    series_uid: str | None = None,
    study_uid: str | None = None,
    signed: bool = False,
    z0: float = -300.0,
    noise: float = 0.0,
) -> SyntheticSeries:
    """A water cylinder in air with spheres (default: a bone ball and a nodule).

    `size` is columns x rows (an int for square slices); `spacing` is x, y, z in mm. Stored as
    uint16 with intercept -1024 (the usual CT encoding), or int16 HU when `signed`. `noise` adds
    Gaussian noise of that standard deviation in HU (fixed seed).
    """
    columns, rows = (size, size) if isinstance(size, int) else size
    dx, dy, dz = spacing
    x0, y0 = -(columns - 1) * dx / 2, -(rows - 1) * dy / 2
    z_bottom_to_top = [z0 + k * dz for k in range(n_slices)]
    z_positions = z_bottom_to_top[::-1] if head_first else z_bottom_to_top
    if spheres is None:
        z_mid = z0 + (n_slices - 1) * dz / 2
        radius = min(columns * dx, rows * dy) / 8
        spheres = [
            Sphere((x0 / 2, 0.0, z_mid), radius, BONE),
            Sphere((-x0 / 2, 0.0, z_mid), radius / 2, NODULE),
        ]
    x = x0 + np.arange(columns) * dx
    y = y0 + np.arange(rows) * dy
    xx, yy = np.meshgrid(x, y)  # (rows, columns)
    body = xx**2 + yy**2 <= (0.4 * min(columns * dx, rows * dy)) ** 2
    hu = np.empty((n_slices, rows, columns), dtype=np.int16)
    rng = np.random.default_rng(0)
    for index, z in enumerate(z_positions):
        plane = np.where(body, WATER, AIR).astype(np.int16)
        for sphere in spheres:
            cx, cy, cz = sphere.center
            inside = (xx - cx) ** 2 + (yy - cy) ** 2 + (z - cz) ** 2 <= sphere.radius**2
            plane[inside] = sphere.hu
        if noise:  # Gaussian noise of `noise` HU, as real CT has (it decides how well a volume compresses)
            plane = np.clip(plane + rng.normal(0.0, noise, plane.shape).round(), -1024, 3071).astype(np.int16)
        hu[index] = plane

    series_uid = series_uid or generate_uid()
    study_uid = study_uid or generate_uid()
    frame_uid = generate_uid()
    files = {}
    for index, z in enumerate(z_positions):
        number = index + 1
        ds = _slice_dataset(study_uid, series_uid, frame_uid, number, (x0, y0, z), spacing, hu[index], signed)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
        files[number] = out.getvalue()
    return SyntheticSeries(series_uid, study_uid, files, hu, z_positions)


def write_ct_series(
    folder: Path,
    n_slices: int,
    size: int | tuple[int, int] = 64,
    spacing: tuple[float, float, float] = (0.7, 0.7, 1.25),
    head_first: bool = True,
    spheres: Sequence[Sphere] | None = None,
    *,
    series_uid: str | None = None,
    study_uid: str | None = None,
    signed: bool = False,
    z0: float = -300.0,
    noise: float = 0.0,
) -> str:
    """Write the series as `<folder>/<8-digit instance number>.dcm`; returns the series UID."""
    series = make_ct_series(
        n_slices, size, spacing, head_first, spheres,
        series_uid=series_uid, study_uid=study_uid, signed=signed, z0=z0, noise=noise,
    )
    folder.mkdir(parents=True, exist_ok=True)
    for number, data in series.files.items():
        (folder / f"{number:08d}.dcm").write_bytes(data)
    return series.series_uid


def _slice_dataset(
    study_uid: str,
    series_uid: str,
    frame_uid: str,
    number: int,
    position: tuple[float, float, float],
    spacing: tuple[float, float, float],
    hu: np.ndarray,
    signed: bool,
) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = CTImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyDate, ds.StudyTime = "20240102", "093000"
    ds.SeriesDate, ds.SeriesTime = "20240102", "093512.250"
    ds.TimezoneOffsetFromUTC = "+0900"
    ds.Modality = "CT"
    ds.Manufacturer = "circus-tests"
    ds.InstitutionName = "Synthetic Hospital"
    ds.SeriesDescription = "synthetic phantom"
    ds.PatientName = "Phantom^Water"
    ds.PatientID = "SYN0001"
    ds.PatientBirthDate = "19800615"
    ds.PatientSex = "O"
    ds.BodyPartExamined = "CHEST"
    ds.SliceThickness = spacing[2]
    ds.SpacingBetweenSlices = spacing[2]
    ds.KVP = "120"
    ds.StudyInstanceUID = study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = frame_uid
    ds.SeriesNumber = 1
    ds.InstanceNumber = number
    ds.ImagePositionPatient = [round(v, 6) for v in position]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.SliceLocation = round(position[2], 6)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = hu.shape
    ds.PixelSpacing = [spacing[1], spacing[0]]  # row spacing (y), column spacing (x)
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
    ds.PixelRepresentation = 1 if signed else 0
    ds.RescaleIntercept = 0 if signed else -1024
    ds.RescaleSlope = 1
    stored = hu.astype("<i2") if signed else (hu.astype(np.int32) + 1024).astype("<u2")
    ds.PixelData = stored.tobytes()
    return ds
