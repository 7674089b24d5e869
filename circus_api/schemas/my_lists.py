"""My lists (spec 4.8): request bodies of `POST /mylists`, `PATCH /mylists/:id` and its items."""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import strict_object
from circus_api.schemas.users import MY_LIST_ENTRY

MAX_ITEMS = 1000

# the same field definitions as the stored subdocument (schemas/users.py), so the two cannot drift
_ENTRY: dict[str, Any] = MY_LIST_ENTRY["properties"]

NEW_MY_LIST = strict_object(
    {"name": _ENTRY["name"], "resourceType": _ENTRY["resourceType"], "public": _ENTRY["public"]},
    ["name", "resourceType", "public"],
)

MY_LIST_PATCH = strict_object(
    {"name": _ENTRY["name"], "public": _ENTRY["public"], "editors": _ENTRY["editors"]}, minProperties=1
)

ITEMS_PATCH = strict_object(
    {
        "operation": {"enum": ["add", "remove"]},
        "resourceIds": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": MAX_ITEMS},
    },
    ["operation", "resourceIds"],
)
