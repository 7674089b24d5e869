"""Conventions every collection shares: timestamps on write, no `_id` on read."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def utcnow() -> dt.datetime:
    """Now, as pymongo returns it: naive UTC at millisecond precision."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def stamped(document: dict[str, Any], now: dt.datetime | None = None) -> dict[str, Any]:
    """A copy of a new document with `createdAt` and `updatedAt` set."""
    now = now or utcnow()
    return {**document, "createdAt": now, "updatedAt": now}


def strip_id(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    document.pop("_id", None)
    return document


NO_ID = {"_id": 0}


class DuplicateKey(Exception):
    """An insert or update hit a unique index; `field` names the key."""

    def __init__(self, field: str) -> None:
        super().__init__(f"duplicate value for {field}")
        self.field = field


def duplicate_key_field(details: Mapping[str, Any] | None) -> str:
    """The field a pymongo DuplicateKeyError is about, from its details."""
    details = details or {}
    pattern = details.get("keyPattern") or details.get("keyValue") or {}
    if pattern:
        return next(iter(pattern))
    message = str(details.get("errmsg", ""))
    marker = "index: "
    if marker in message:
        return message.split(marker, 1)[1].split("_", 1)[0]
    return "key"
