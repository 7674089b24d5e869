"""Request body of `POST /cases/export-mhd` (spec 4.6 #25)."""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import strict_object

MAX_EXPORT_CASES = 100

_CASE_REFERENCE: dict[str, Any] = {
    "oneOf": [
        {"type": "string"},
        strict_object(
            {"caseId": {"type": "string"}, "revisionIndex": {"type": "integer", "minimum": 0}}, ["caseId"]
        ),
    ]
}

EXPORT_MHD = strict_object(
    {
        "caseIds": {
            "type": "array",
            "items": _CASE_REFERENCE,
            "minItems": 1,
            "maxItems": MAX_EXPORT_CASES,
            "description": "Case IDs, or {caseId, revisionIndex} to export another revision than the last.",
        },
        "labelPackType": {"enum": ["isolated", "combined"], "default": "isolated"},
        "mhdLineEnding": {"enum": ["lf", "crlf"], "default": "lf"},
        "compressionFormat": {"enum": ["tgz", "zip"], "default": "tgz"},
        "partialVolume": {
            "type": "boolean",
            "default": False,
            "description": (
                "Extension of circus: export only the images of each series entry's partial volume "
                "descriptor, in its order (labels are placed at their origin in that volume, as the "
                "viewer showed it, and clipped to it). Default: the whole series, as CIRCUS does."
            ),
        },
    },
    ["caseIds"],
)
