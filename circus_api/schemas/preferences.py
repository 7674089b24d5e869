"""User preferences (spec 4.2): the stored keys, their allowed values and their defaults."""

from __future__ import annotations

from typing import Any

from circus_api.schemas.common import STRING_ARRAY, strict_object

DEFAULTS: dict[str, Any] = {
    "theme": "mode_white",
    "personalInfoView": False,
    "seriesSearchPresets": [],
    "caseSearchPresets": [],
    "pluginJobSearchPresets": [],
    "referenceLine": False,
    "initailAlphaForNewLabels": 1,  # sic: the misspelling is CIRCUS's key
    "windowPropagationScope": "all",
    "interpolationMode": "nearestNeighbor",
    "scrollBars": "none",
    "scrollBarsInfo": {},
    "maintainAspectRatio": False,
    "fixCenterOfGravity": False,
    "dimmedOutlineFor2DLabels": "show",
    "revisionMessageTemplates": [],
    "labelColors": {"useDefault": True, "customColors": []},
}

_PRESETS = {"type": "array", "items": {"type": "object"}}

PREFERENCES = strict_object(
    {
        "theme": {"enum": ["mode_black", "mode_white"]},
        "personalInfoView": {"type": "boolean"},
        "seriesSearchPresets": _PRESETS,
        "caseSearchPresets": _PRESETS,
        "pluginJobSearchPresets": _PRESETS,
        "referenceLine": {"type": "boolean"},
        "initailAlphaForNewLabels": {"type": "number", "minimum": 0, "maximum": 1},
        "windowPropagationScope": {"enum": ["all", "series", "viewer"]},
        "interpolationMode": {"enum": ["nearestNeighbor", "trilinear"]},
        "scrollBars": {"enum": ["none", "small", "large"]},
        "scrollBarsInfo": strict_object(
            {
                "size": {"enum": ["small", "large"]},
                "position": {"enum": ["right", "left", "top", "bottom"]},
                "visibility": {"enum": ["none", "always", "hover"]},
            }
        ),
        "maintainAspectRatio": {"type": "boolean"},
        "fixCenterOfGravity": {"type": "boolean"},
        "dimmedOutlineFor2DLabels": {"enum": ["hide", "show", "infinity"]},
        "revisionMessageTemplates": STRING_ARRAY,
        "labelColors": strict_object(
            {
                "useDefault": {"type": "boolean"},
                "customColors": {"type": "array", "items": {"type": "string", "pattern": "^#[0-9a-f]{6}$"}},
            },
            ["useDefault", "customColors"],
        ),
    }
)

PREFERENCES_PATCH = {**PREFERENCES, "minProperties": 1}


def with_defaults(stored: dict[str, Any] | None) -> dict[str, Any]:
    return {**DEFAULTS, **(stored or {})}
