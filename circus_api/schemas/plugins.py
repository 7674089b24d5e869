"""Plug-in definitions (spec 6.6, plugins-and-jobs 1.1) as the admin endpoints take them (#71, #72).

Two shapes, told apart by `type`: a local CAD plug-in (`CAD`, 64-hex Docker image ID) and a
remote one (`CAD+remote`). The CAD shape is the job manager's own (`job_manager.plugins`), so the
API accepts exactly what the runner reads: `timeout` and `gpus`, plus our optional `memory` and
`cpus` limits. The request schemas accept the union of both shapes; the services then check the
body against the shape of its type (`definition_schema`), complete for a creation and partial for
a change.
"""

from __future__ import annotations

import copy
from typing import Any

from circus_api.schemas.common import strict_object
from job_manager.plugins import DISPLAY_STRATEGY_SCHEMA, PLUGIN_DEFINITION_SCHEMA

CAD = "CAD"
REMOTE = "CAD+remote"
TYPES = (CAD, REMOTE)

_CAD_FIELDS: dict[str, Any] = PLUGIN_DEFINITION_SCHEMA["properties"]
FIELD_NAMES: list[str] = list(_CAD_FIELDS)

REMOTE_RUN_CONFIGURATION = strict_object(
    {
        "adapter": {"type": "string", "minLength": 1},
        # the adapter reads `endpoint`, `authentication` and `timeout`; other keys are allowed
        "parameters": {
            "type": "object",
            "properties": {
                "endpoint": {"type": "string"},
                "authentification": {"type": "string"},  # sic, the stored contract (spec 6.6)
                "maxConcurrency": {"type": "integer"},
                "timeout": {"type": "integer", "minimum": 0},
                "env": DISPLAY_STRATEGY_SCHEMA,
            },
        },
    },
    ["adapter", "parameters"],
)

_REMOTE_FIELDS: dict[str, Any] = {
    **_CAD_FIELDS,
    "pluginId": {"type": "string"},
    "type": {"enum": [REMOTE]},
    "runConfiguration": REMOTE_RUN_CONFIGURATION,
}


def definition_schema(plugin_type: str, *, complete: bool) -> dict[str, Any]:
    """The schema of one plug-in type: every field required (`complete`) or none of them.

    A remote plug-in's `pluginId` is never required: the server computes it."""
    fields = copy.deepcopy(_CAD_FIELDS if plugin_type == CAD else _REMOTE_FIELDS)
    required = [name for name in FIELD_NAMES if plugin_type == CAD or name != "pluginId"] if complete else []
    return strict_object(fields, required)


# what the routes accept before the type is known; `pluginId` is there so that the services can
# answer a PATCH with CIRCUS's message (`The primary key cannot be modified.`)
_UNION_FIELDS: dict[str, Any] = {
    **_CAD_FIELDS,
    "pluginId": {"type": "string"},
    "type": {"enum": list(TYPES)},
    "runConfiguration": {"type": "object"},
}
NEW_PLUGIN = strict_object(_UNION_FIELDS)
PLUGIN_PATCH = strict_object(_UNION_FIELDS, minProperties=1)
