"""Series bodies (spec 4.5)."""

from __future__ import annotations

from circus_api.schemas.common import DICOM_UID, PARTIAL_VOLUME_DESCRIPTOR, strict_object

MAX_EXPORT_SERIES = 10

EXPORT_CS_VOLUME = strict_object(
    {
        "series": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_EXPORT_SERIES,
            # no "auto" here: the descriptor must be given
            "items": strict_object(
                {"seriesUid": DICOM_UID, "partialVolumeDescriptor": PARTIAL_VOLUME_DESCRIPTOR},
                ["seriesUid", "partialVolumeDescriptor"],
            ),
        },
        "compressionFormat": {"enum": ["tgz", "zip"]},
    },
    ["series"],
)
