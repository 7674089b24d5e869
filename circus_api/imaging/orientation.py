"""Head-first / foot-first and `partialVolumeDescriptor: "auto"` (spec 5.3).

Head-first means the patient Z position does not increase as the image number increases; the
answer is always a PVD that runs head to foot.
"""

from __future__ import annotations

from pathlib import Path

from circus_api.imaging.dicom_files import image_numbers
from circus_api.imaging.errors import OrientationError, VolumeError
from circus_api.imaging.ranges import first_segment, format_range
from circus_api.imaging.volumes import read_slice_header

Pvd = dict[str, int]


def orientation(root: Path, series_uid: str, start: int, end: int, *, use_hash: bool = False) -> Pvd:
    """`{start, end, delta}` for the images `start`..`end`, running head to foot.

    Errors (OrientationError, CIRCUS's messages): `no image` when either image cannot be
    loaded, `invalid image` when one has no ImagePositionPatient Z.
    """
    if len(image_numbers(root, series_uid, use_hash=use_hash)) == 1:
        return {"start": start, "end": end, "delta": 1}
    z_start, z_end = (_z(root, series_uid, n, use_hash) for n in (start, end))
    if start <= end:
        if z_start >= z_end:
            return {"start": start, "end": end, "delta": 1}
        return {"start": end, "end": start, "delta": -1}
    if z_start >= z_end:
        return {"start": end, "end": start, "delta": -1}
    return {"start": start, "end": end, "delta": 1}


def orientation_name(pvd: Pvd) -> str:
    """What `GET /series/:uid/orientation` reports for an orientation() answer."""
    return "head-first" if pvd["delta"] > 0 else "foot-first"


def auto_pvd(
    root: Path, series_uid: str, images_range: str | None = None, *, use_hash: bool = False
) -> Pvd:
    """The PVD for `"auto"`: the orientation of the first contiguous segment of the series'
    images (`images_range`, e.g. `series.images`; by default the files in the repository)."""
    if images_range is None:
        images_range = format_range(image_numbers(root, series_uid, use_hash=use_hash))
    segment = first_segment(images_range)
    if segment is None:
        raise OrientationError("no image")
    return orientation(root, series_uid, segment[0], segment[1], use_hash=use_hash)


def _z(root: Path, series_uid: str, image_number: int, use_hash: bool) -> float:
    try:
        header = read_slice_header(root, series_uid, image_number, use_hash=use_hash)
    except (VolumeError, ValueError) as exc:
        raise OrientationError("no image") from exc
    if header.position is None:
        raise OrientationError("invalid image")
    return header.position[2]
