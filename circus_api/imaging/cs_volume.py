"""The CS volume layout (spec 5.5): `<i>.raw`, `<i>.mhd`, `<i>.json` per series.

This is what `POST /series/export-cs-volume` archives and what a CAD plug-in container receives
as input. Decision: the JSON values use the same conversion as `series.parameters` (numbers
for numeric VRs, one `\\`-joined string for text), plus sequences as arrays of objects.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydicom.datadict import DicomDictionary, dictionary_VR, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.tag import BaseTag

from circus_api.imaging.dicom_reading import lenient_values
from circus_api.imaging.dicom_values import JsonValue, element_value, element_vr, tag_key
from circus_api.imaging.mhd import mhd_header
from circus_api.imaging.volumes import VolumeGeometry, iter_slices, volume_geometry

# dropped from the JSON wherever they occur (spec 5.5's list, with the matching
# identification sequences)
PERSONAL_KEYWORDS = (
    "InstitutionName",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionalDepartmentName",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "PerformingPhysicianName",
    "PerformingPhysicianIdentificationSequence",
    "NameOfPhysiciansReadingStudy",
    "PhysiciansReadingStudyIdentificationSequence",
    "OperatorsName",
    "OperatorIdentificationSequence",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
    "RequestingPhysician",
    "RequestingService",
)
PERSONAL_TAGS = frozenset(tag_for_keyword(keyword) for keyword in PERSONAL_KEYWORDS)

JsonObject = dict[str, object]


def dataset_json(
    ds: Dataset, *, include_private: bool = False, cache: dict[tuple[object, ...], JsonValue | None] | None = None
) -> JsonObject:
    """One dataset as `{"gggg,eeee": value}`; binary, empty, group-length and personal elements
    are left out, private ones too unless asked for.

    `cache` (shared by the slices of one series) keeps converted values by their raw bytes: most
    elements of a series are the same in every slice, and pydicom's conversion was the larger
    part of a job's input preparation."""
    out: JsonObject = {}
    charset = str(ds.get("SpecificCharacterSet") or "") if cache is not None else ""
    for tag in sorted(ds.keys()):
        if tag.element == 0 or tag in PERSONAL_TAGS or (tag.is_private and not include_private):
            continue
        key = _cache_key(tag, ds.get_item(tag), charset) if cache is not None else None
        if key is not None and cache is not None and key in cache:
            cached = cache[key]
            if cached is not None:
                out[tag_key(tag)] = list(cached) if isinstance(cached, list) else cached
            continue
        elem = ds[tag]
        if element_vr(elem) == "SQ":  # nested items inherit the character set: not cached
            out[tag_key(tag)] = [dataset_json(item, include_private=include_private) for item in elem.value]
            continue
        value = element_value(elem)
        if key is not None and cache is not None:
            cache[key] = list(value) if isinstance(value, list) else value
        if value is not None:
            out[tag_key(tag)] = value
    return out


def _cache_key(tag: BaseTag, raw: object, charset: str) -> tuple[object, ...] | None:
    """What a still unconverted element's value depends on, or None when that is not all known:
    an implicit VR that is private, unknown or ambiguous (`US or SS` follows other elements),
    or UN (pydicom may read it as the tag's dictionary VR, ambiguous ones included)."""
    if not isinstance(raw, RawDataElement) or raw.value is None:
        return None
    vr = raw.VR
    if vr is None:
        if tag.is_private or tag not in DicomDictionary:
            return None
        vr = dictionary_VR(tag)
    if vr in ("SQ", "UN") or " or " in vr:
        return None
    return (int(tag), vr, raw.value, raw.is_implicit_VR, raw.is_little_endian, charset)


def cs_volume_json(datasets: Iterable[Dataset], *, include_private: bool = False) -> JsonObject:
    """`{"common": {...}, "unique": [{...}, ...]}`: tags equal in every slice go to common,
    the rest to one object per slice (in slice order)."""
    cache: dict[tuple[object, ...], JsonValue | None] = {}
    with lenient_values():
        slices = [dataset_json(ds, include_private=include_private, cache=cache) for ds in datasets]
    if not slices:
        return {"common": {}, "unique": []}
    first = slices[0]
    common = {key: value for key, value in first.items() if all(key in s and s[key] == value for s in slices)}
    unique = [{key: value for key, value in s.items() if key not in common} for s in slices]
    return {"common": common, "unique": unique}


def write_cs_volume(
    root: Path,
    series_uid: str,
    pvd: Mapping[str, object],
    out_dir: Path,
    index: int,
    *,
    use_hash: bool = False,
    include_private: bool = False,
) -> VolumeGeometry:
    """Write `<index>.raw` (streamed, one slice in memory), `<index>.mhd` and `<index>.json`
    for the images of `pvd`, in PVD order."""
    geometry = volume_geometry(root, series_uid, pvd, use_hash=use_hash)
    with open(out_dir / f"{index}.raw", "wb") as raw:
        for piece in iter_slices(root, series_uid, geometry, use_hash=use_hash):
            raw.write(piece.pixels.tobytes())
    header = mhd_header(geometry.size, geometry.pixel_type, geometry.spacing, f"{index}.raw")
    (out_dir / f"{index}.mhd").write_text(header, encoding="ascii", newline="")
    tags = cs_volume_json((h.dataset for h in geometry.headers), include_private=include_private)
    (out_dir / f"{index}.json").write_text(json.dumps(tags), encoding="utf-8")
    return geometry
