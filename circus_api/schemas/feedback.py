"""Feedback bodies (spec 4.10 #47-#48, 5.7)."""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import DATE, strict_object

ACTION_LOG_ENTRY = strict_object(
    {"date": DATE, "action": {"type": "string"}, "data": {"type": "object"}}, ["date", "action"]
)

# neither key is required (as in CIRCUS); `data` is any JSON, shaped by the plug-in's displays
FEEDBACK: dict[str, Any] = strict_object({"data": {}, "actionLog": {"type": "array", "items": ACTION_LOG_ENTRY}})
