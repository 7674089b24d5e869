"""The MHD export layout of one case (spec 5.4), streamed into an archive slice by slice.

    <caseId>/data.json
    <caseId>/vol000.mhd, vol000.raw                       the series' voxels
    <caseId>/vol000-label002.mhd, vol000-label002.raw     isolated: one pair per voxel label with data
    <caseId>/vol000-label.mhd, vol000-label.raw           combined: one pair per series entry

Beyond CIRCUS, the headers carry Offset, TransformMatrix and AnatomicalOrientation from the
DICOM geometry, so viewers such as 3D Slicer and ITK-SNAP put the volume (and its labels) in
patient space. With `partial_volume` only the PVD's images are exported, in PVD order (an entry
without a PVD is exported whole), and a label's `origin` is read in that volume: the one the
viewer showed when the label was drawn. Label boxes reaching outside the volume are clipped.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from circus_api.imaging.archives import ArchiveWriter, Chunk, Zeros
from circus_api.imaging.labels import VoxelLabel, combined_planes, isolated_planes
from circus_api.imaging.mhd import anatomical_orientation, mhd_header, transform_matrix
from circus_api.imaging.volumes import VolumeGeometry, iter_slices, volume_geometry

LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n"}
LABEL_PACK_TYPES = ("isolated", "combined")


@dataclass(frozen=True)
class MhdOptions:
    label_pack_type: str = "isolated"  # or "combined"
    line_ending: str = "\n"  # or "\r\n"
    partial_volume: bool = False  # our extension: only the PVD's images

    def __post_init__(self) -> None:
        if self.label_pack_type not in LABEL_PACK_TYPES:
            raise ValueError(f"unknown label pack type {self.label_pack_type!r}")
        if self.line_ending not in LINE_ENDINGS.values():
            raise ValueError(f"unknown line ending {self.line_ending!r}")


def voxel_blob_hashes(revision: Mapping[str, Any]) -> set[str]:
    """The blobs a revision's export reads: voxel labels whose `data.voxels` is set."""
    return {
        label["data"]["voxels"]
        for entry in revision.get("series") or []
        for label in entry.get("labels") or []
        if label.get("type") == "voxel" and (label.get("data") or {}).get("voxels")
    }


def write_case(
    writer: ArchiveWriter,
    case_id: str,
    data_json: bytes,
    revision: Mapping[str, Any],
    blobs: Mapping[str, bytes],
    dicom_root: Path,
    options: MhdOptions,
) -> None:
    """Every entry of one case; `blobs` maps each hash of voxel_blob_hashes(revision) to its bytes."""
    writer.add_bytes(f"{case_id}/data.json", data_json)
    for index, entry in enumerate(revision.get("series") or []):
        _write_series(writer, case_id, f"vol{index:03d}", entry, blobs, dicom_root, options)


def _write_series(
    writer: ArchiveWriter, folder: str, base: str, entry: Mapping[str, Any], blobs: Mapping[str, bytes],
    dicom_root: Path, options: MhdOptions,
) -> None:
    series_uid = entry["seriesUid"]
    selection = entry.get("partialVolumeDescriptor") if options.partial_volume else None
    geometry = volume_geometry(dicom_root, series_uid, selection)
    width, height, depth = geometry.size

    def add_pair(name: str, pixel_type: np.dtype, planes: Iterator[np.ndarray]) -> None:
        header = volume_header(geometry, f"{name}.raw", options.line_ending, pixel_type)
        writer.add_bytes(f"{folder}/{name}.mhd", header.encode("ascii"))
        size = width * height * depth * pixel_type.itemsize
        writer.add_stream(f"{folder}/{name}.raw", size, _raw_chunks(planes))

    # j counts every label of the entry, voxel or not (spec 5.4 numbering)
    labels = entry.get("labels") or []
    voxel_labels = [(j, label.get("data") or {}) for j, label in enumerate(labels) if label.get("type") == "voxel"]
    with_data = [
        VoxelLabel.from_label(j, data, blobs[data["voxels"]]) for j, data in voxel_labels if data.get("voxels")
    ]
    # labels are checked before the long volume write, so a broken one fails fast
    slices = (piece.pixels for piece in iter_slices(dicom_root, series_uid, geometry))
    add_pair(base, geometry.pixel_type, slices)
    uint8 = np.dtype(np.uint8)
    if options.label_pack_type == "isolated":
        for label in with_data:
            add_pair(f"{base}-label{label.index:03d}", uint8, isolated_planes(label, geometry.size))
    elif voxel_labels:  # combined: one file as soon as the entry has a voxel label, even an empty one
        add_pair(f"{base}-label", uint8, combined_planes(with_data, geometry.size))


def volume_header(
    geometry: VolumeGeometry, data_file: str, line_ending: str = "\n", pixel_type: np.dtype | None = None
) -> str:
    """The header of spec 5.4 plus the geometry keys that place the volume in patient space."""
    return mhd_header(
        geometry.size,
        pixel_type if pixel_type is not None else geometry.pixel_type,
        geometry.spacing,
        data_file,
        line_ending,
        offset=geometry.origin,
        transform_matrix=transform_matrix(geometry.direction),
        anatomical_orientation=anatomical_orientation(geometry.direction),
    )


def _raw_chunks(planes: Iterator[np.ndarray]) -> Iterator[Chunk]:
    """Planes as raw little-endian bytes, without copying; empty label planes as zero runs."""
    for plane in planes:
        if plane.dtype == np.uint8 and not plane.any():
            yield Zeros(plane.nbytes)
        else:
            yield np.ascontiguousarray(plane).data.cast("B")
