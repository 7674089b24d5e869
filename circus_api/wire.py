"""What goes on the wire: dates as ISO-8601 UTC with milliseconds, never `_id`."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from bson import ObjectId


def iso_date(value: dt.datetime) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def to_wire(value: Any) -> Any:
    """A JSON-ready copy of a value read from MongoDB."""
    if isinstance(value, dict):
        return {k: to_wire(v) for k, v in value.items() if k != "_id"}
    if isinstance(value, list | tuple):
        return [to_wire(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso_date(value)
    if isinstance(value, ObjectId):
        return str(value)
    return value


def dumps(value: Any) -> bytes:
    return json.dumps(to_wire(value), ensure_ascii=False, separators=(",", ":")).encode()


def _js_int(text: str) -> int | float:
    # BSON holds 64-bit integers at most; beyond that JavaScript (and so CIRCUS) has a double
    if len(text) <= 19 and -(2**63) <= (value := int(text)) < 2**63:
        return value
    return float(text)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def loads(raw: str | bytes) -> Any:
    """JSON as JavaScript's JSON.parse reads it: no NaN/Infinity, huge integers become doubles."""
    return json.loads(raw, parse_int=_js_int, parse_constant=_no_constant)


def parse_iso_date(text: str) -> dt.datetime:
    """An ISO-8601 string as naive UTC (how dates are stored); ValueError when malformed."""
    parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed
