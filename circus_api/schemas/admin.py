"""Administration bodies: groups, projects, server params, one-time URLs (spec 4.13, 4.14)."""

from __future__ import annotations

from typing import Any

from circus_api.db.groups import PLUGIN_ROLE_FIELDS, PROJECT_ROLE_FIELDS
from circus_api.privileges import GLOBAL_PRIVILEGES
from circus_api.schemas.common import COLOR, ICON, STRING_ARRAY, strict_object

_GROUP_FIELDS: dict[str, Any] = {
    "groupId": {"type": "integer"},
    "groupName": {"type": "string", "minLength": 1, "maxLength": 64},
    "privileges": {"type": "array", "items": {"enum": list(GLOBAL_PRIVILEGES)}, "uniqueItems": True},
    "domains": STRING_ARRAY,
    **{name: STRING_ARRAY for name in PROJECT_ROLE_FIELDS},
    **{name: STRING_ARRAY for name in PLUGIN_ROLE_FIELDS},
}
GROUP_REQUIRED = [name for name in _GROUP_FIELDS if name != "groupId"]
NEW_GROUP = strict_object(_GROUP_FIELDS, GROUP_REQUIRED)
GROUP_PATCH = strict_object(_GROUP_FIELDS, minProperties=1)

_ATTRIBUTE = strict_object(
    {
        "type": {"enum": ["number", "integer", "string", "boolean"]},
        "maximum": {"type": "number"},
        "minimum": {"type": "number"},
        "maximumExclusive": {"type": "number"},
        "minimumExclusive": {"type": "number"},
        "minLength": {"type": "integer"},
        "maxLength": {"type": "integer"},
        "enum": STRING_ARRAY,
        "title": {"type": "string"},
        "description": {"type": "string"},
        "default": {},
    },
    ["type"],
)
ATTRIBUTES_SCHEMA = strict_object(
    {
        "type": {"const": "object"},
        "properties": {"type": "object", "additionalProperties": _ATTRIBUTE},
        "required": STRING_ARRAY,
    }
)

_PROJECT_FIELDS: dict[str, Any] = {
    "projectId": {"type": "string", "maxLength": 64},
    "projectName": {"type": "string", "minLength": 1, "maxLength": 64},
    "icon": ICON,
    "description": {"type": "string", "maxLength": 1024},
    "tags": {"type": "array", "items": strict_object({"caption": {"type": "string"}, "color": COLOR},
                                                     ["caption", "color"])},
    "caseAttributesSchema": ATTRIBUTES_SCHEMA,
    "labelAttributesSchema": ATTRIBUTES_SCHEMA,
    "windowPresets": {
        "type": "array",
        "items": strict_object(
            {"label": {"type": "string"}, "level": {"type": "number"}, "width": {"type": "number"}},
            ["label", "level", "width"],
        ),
    },
    "windowPriority": {"enum": ["dicom,preset,auto", "dicom,auto", "preset,dicom,auto", "preset,auto", "auto"]},
}
PROJECT_REQUIRED = [name for name in _PROJECT_FIELDS if name != "projectId"]
NEW_PROJECT = strict_object(_PROJECT_FIELDS, PROJECT_REQUIRED)
PROJECT_PATCH = strict_object(_PROJECT_FIELDS, minProperties=1)

SERVER_PARAM_VALUE: dict[str, Any] = {"type": ["object", "array"]}
SERVER_PARAMS: dict[str, Any] = {"type": "object"}

NEW_ONETIME_URL = strict_object({"user": {"type": "string", "minLength": 1}}, ["user"])

JOB_MANAGER_SWITCH = strict_object({"status": {"enum": ["running", "stopped"]}}, ["status"])
