"""Users and permanent tokens (spec 4.3, 4.13)."""

from __future__ import annotations

from circus_api.schemas.common import DATE, strict_object
from circus_api.schemas.preferences import PREFERENCES

_EMAIL = {"type": "string", "format": "email", "maxLength": 256}

_EDITOR = {
    "oneOf": [
        strict_object({"type": {"const": "user"}, "userEmail": {"type": "string"}}, ["type", "userEmail"]),
        strict_object({"type": {"const": "group"}, "groupId": {"type": "integer"}}, ["type", "groupId"]),
    ]
}
# the stored subdocument (spec 6.1): every field, so an admin PATCH cannot write an incomplete one
MY_LIST_ENTRY = strict_object(
    {
        "myListId": {"type": "string"},
        "resourceType": {"enum": ["series", "clinicalCases", "pluginJobs"]},
        "name": {"type": "string", "minLength": 1, "maxLength": 64},
        "public": {"type": "boolean"},
        "editors": {"type": "array", "items": _EDITOR},
        "createdAt": DATE,
    },
    ["myListId", "resourceType", "name", "public", "editors", "createdAt"],
)

_USER_FIELDS = {
    "userEmail": _EMAIL,
    "loginId": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^\S+$"},
    "password": {"type": "string", "minLength": 1, "maxLength": 72},
    "loginEnabled": {"type": "boolean"},
    "description": {"type": "string", "maxLength": 1024},
    "groups": {"type": "array", "items": {"type": "integer"}, "uniqueItems": True},
    "preferences": PREFERENCES,
    "myLists": {"type": "array", "items": MY_LIST_ENTRY},
    "lastLoginTime": {},
    "lastLoginIp": {},
}

NEW_USER = strict_object(
    _USER_FIELDS, ["userEmail", "loginId", "password", "loginEnabled", "description", "groups"]
)
USER_PATCH = strict_object(_USER_FIELDS, minProperties=1)

NEW_TOKEN = strict_object({"description": {"type": "string", "minLength": 1, "maxLength": 32}}, ["description"])
