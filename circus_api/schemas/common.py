"""Schema pieces shared by several resources."""

from __future__ import annotations

from typing import Any

COLOR: dict[str, Any] = {"type": "string", "format": "color"}
DATE: dict[str, Any] = {"type": "string", "format": "date-time"}
STRING_ARRAY: dict[str, Any] = {"type": "array", "items": {"type": "string"}}


def strict_object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    """An object that allows no keys beyond `properties`."""
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    schema.update(extra)
    return schema


ICON = strict_object(
    {"glyph": {"type": "string", "format": "kebab-case"}, "color": COLOR, "backgroundColor": COLOR},
    ["glyph", "color", "backgroundColor"],
)

DICOM_UID: dict[str, Any] = {"type": "string", "format": "dicomUid"}

# spec 5.1: schema-wise only start/end are required; the full validity rules (integer non-zero
# delta, direction, ...) are checked by the services with imaging.ranges.validate_pvd
PARTIAL_VOLUME_DESCRIPTOR = strict_object(
    {"start": {"type": "number"}, "end": {"type": "number"}, "delta": {"type": "number"}},
    ["start", "end"],
)
