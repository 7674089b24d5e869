"""Request bodies of the case endpoints (spec 4.6) and the revision/label shapes of spec 5.1.

Each label type has its own `data` schema, selected with `if`/`then` on `type`, so a validation
error points at the offending field (`.series[0].labels[2].data.min`) instead of a bare `oneOf`.
"""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import COLOR, DICOM_UID, PARTIAL_VOLUME_DESCRIPTOR, STRING_ARRAY, strict_object

_NUMBER: dict[str, Any] = {"type": "number"}


def _tuple(item: dict[str, Any], length: int) -> dict[str, Any]:
    return {"type": "array", "items": item, "minItems": length, "maxItems": length}


VECTOR2 = _tuple(_NUMBER, 2)
VECTOR3 = _tuple(_NUMBER, 3)
INT_VECTOR3 = _tuple({"type": "integer"}, 3)
BLOB_HASH: dict[str, Any] = {"type": ["string", "null"], "pattern": "^[0-9a-f]{40}$"}

# every `data` may carry these
_APPEARANCE: dict[str, Any] = {"color": COLOR, "alpha": {"type": "number", "minimum": 0, "maximum": 1}}


def _data(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return strict_object({**properties, **_APPEARANCE}, required)


_BOX3 = _data({"min": VECTOR3, "max": VECTOR3}, ["min", "max"])
_BOX2 = _data({"min": VECTOR2, "max": VECTOR2, "z": _NUMBER}, ["min", "max", "z"])

LABEL_DATA: dict[str, dict[str, Any]] = {
    # `voxels` null is an empty label; otherwise the SHA-1 of a blob holding the packed bits
    "voxel": _data({"voxels": BLOB_HASH, "origin": INT_VECTOR3, "size": INT_VECTOR3}, ["voxels"]),
    "cuboid": _BOX3,
    "ellipsoid": _BOX3,
    "rectangle": _BOX2,
    "ellipse": _BOX2,
    "polyline": _data(
        {"points": {"type": "array", "items": VECTOR2, "minItems": 1}, "z": _NUMBER}, ["points", "z"]
    ),
    "point": _data({"location": VECTOR3}, ["location"]),
    "ruler": _data(
        {
            "section": strict_object(
                {"origin": VECTOR3, "xAxis": VECTOR3, "yAxis": VECTOR3}, ["origin", "xAxis", "yAxis"]
            ),
            "start": VECTOR3,
            "end": VECTOR3,
            "labelPosition": VECTOR2,
        },
        ["section", "start", "end"],
    ),
}

LABEL = strict_object(
    {
        "type": {"enum": list(LABEL_DATA)},
        "data": {"type": "object"},
        "name": {"type": ["string", "null"]},
        "attributes": {"type": "object"},
    },
    ["type", "data"],
    allOf=[
        {
            "if": {"properties": {"type": {"const": label_type}}, "required": ["type"]},
            "then": {"properties": {"data": data}},
        }
        for label_type, data in LABEL_DATA.items()
    ],
)

REVISION_SERIES = strict_object(
    {
        "seriesUid": DICOM_UID,
        "partialVolumeDescriptor": PARTIAL_VOLUME_DESCRIPTOR,
        "labels": {"type": "array", "items": LABEL},
    },
    ["seriesUid", "labels"],
)

# `date` and `creator` are accepted by the schema so that the service can refuse them with
# CIRCUS's own messages (`You cannot specify revision date.`)
NEW_REVISION = strict_object(
    {
        "description": {"type": "string"},
        "attributes": {"type": "object"},
        "status": {"type": "string"},
        "series": {"type": "array", "items": REVISION_SERIES},
        "date": {},
        "creator": {},
    },
    ["description", "attributes", "status", "series"],
)

# Re-impl of #22: every field required, at least one series
NEW_CASE = strict_object(
    {
        "projectId": {"type": "string"},
        "series": {
            "type": "array",
            "minItems": 1,
            "items": strict_object(
                {
                    "seriesUid": DICOM_UID,
                    # a string must be "auto"; anything else must be a descriptor object
                    "partialVolumeDescriptor": {
                        "if": {"type": "string"},
                        "then": {"const": "auto"},
                        "else": PARTIAL_VOLUME_DESCRIPTOR,
                    },
                },
                ["seriesUid", "partialVolumeDescriptor"],
            ),
        },
        "tags": STRING_ARRAY,
    },
    ["projectId", "series", "tags"],
)

# tag lengths are checked by the service, which has CIRCUS's messages for them
CASE_TAGS = STRING_ARRAY

TAG_PATCH = strict_object(
    {
        "operation": {"enum": ["add", "remove", "set"]},
        "tags": STRING_ARRAY,
        "caseIds": {"type": "array", "items": {"type": "string"}, "minItems": 1},
    },
    ["operation", "tags", "caseIds"],
)
