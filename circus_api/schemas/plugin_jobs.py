"""Request bodies of the plug-in job endpoints (spec 4.10 #40, #41)."""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import DICOM_UID, PARTIAL_VOLUME_DESCRIPTOR, strict_object

JOB_SERIES = strict_object(
    {
        "seriesUid": DICOM_UID,
        # a string must be "auto"; anything else must be a descriptor object
        "partialVolumeDescriptor": {"if": {"type": "string"}, "then": {"const": "auto"},
                                    "else": PARTIAL_VOLUME_DESCRIPTOR},
        "requiredPrivateTags": {"type": "string"},
    },
    ["seriesUid", "partialVolumeDescriptor"],
)

NEW_JOB = strict_object(
    {
        "pluginId": {"type": "string"},
        "series": {"type": "array", "minItems": 1, "items": JOB_SERIES},
        "priority": {"type": "integer"},
        "force": {"const": True},
    },
    ["pluginId", "series"],
)

# Re-impl: CIRCUS misspells `required`, so a missing status reached the handler (500)
JOB_STATUS_CHANGE: dict[str, Any] = strict_object(
    {"status": {"enum": ["cancelled", "invalidated"]}}, ["status"]
)
