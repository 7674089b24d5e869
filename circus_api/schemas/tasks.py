"""Task bodies (spec 4.12, 4.16)."""

from __future__ import annotations

from circus_api.schemas.common import strict_object

DISMISS = strict_object({"dismissed": {"type": "boolean"}}, ["dismissed"])

DEBUG_TASK = strict_object(
    {
        "steps": {"type": ["string", "integer"]},
        "tick": {"type": ["string", "integer"]},
        "dl": {},
        "fails": {},
    }
)
