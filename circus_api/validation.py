"""JSON Schema checks for request bodies, reported in ajv's shape (spec 0.5).

Fields whose schema says `"format": "date-time"` are converted to datetimes after validation,
as CIRCUS does before its handlers run.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from circus_api.errors import ValidationFailed
from circus_api.wire import parse_iso_date

FORMAT_CHECKER = FormatChecker()
_DICOM_UID = re.compile(r"^(0|[1-9][0-9]*|0[0-9]+)(\.(0|[1-9][0-9]*|0[0-9]+))+$")
_COLOR = re.compile(r"^#[0-9a-f]{6}$")
_KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?(?:\+[0-9A-Za-z-.]+)?$"
)


@FORMAT_CHECKER.checks("dicomUid")
def _is_dicom_uid(value: object) -> bool:
    return not isinstance(value, str) or (len(value) <= 64 and bool(_DICOM_UID.match(value)))


@FORMAT_CHECKER.checks("color")
def _is_color(value: object) -> bool:
    return not isinstance(value, str) or bool(_COLOR.match(value))


@FORMAT_CHECKER.checks("kebab-case")
def _is_kebab(value: object) -> bool:
    return not isinstance(value, str) or bool(_KEBAB.match(value))


@FORMAT_CHECKER.checks("semver")
def _is_semver(value: object) -> bool:
    return not isinstance(value, str) or bool(_SEMVER.match(value))


@FORMAT_CHECKER.checks("dockerId")
def _is_docker_id(value: object) -> bool:
    return not isinstance(value, str) or bool(re.fullmatch(r"[a-z0-9]{64}", value))


@FORMAT_CHECKER.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    if isinstance(value, str):
        parse_iso_date(value)
    return True


def _data_path(error: ValidationError) -> str:
    parts = []
    for part in error.absolute_path:
        parts.append(f"[{part}]" if isinstance(part, int) else f".{part}")
    return "".join(parts)


def _params(error: ValidationError) -> dict[str, Any]:
    keyword = str(error.validator)
    value = error.validator_value
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set((schema.get("properties") or {}).keys())
        extra = [k for k in error.instance if k not in allowed]
        return {"additionalProperty": extra[0] if extra else None}
    if keyword == "required" and isinstance(error.instance, dict) and isinstance(value, list):
        missing = [k for k in value if k not in error.instance]
        return {"missingProperty": missing[0] if missing else None}
    if keyword in ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum"):
        return {"limit": value}
    if keyword in ("type", "format", "enum", "const", "pattern"):
        return {keyword if keyword != "enum" else "allowedValues": value}
    return {}


def ajv_error(error: ValidationError) -> dict[str, Any]:
    """One jsonschema error as ajv reports it; the message names the offending field."""
    data_path = _data_path(error)
    where = data_path or "(body)"
    return {
        "keyword": str(error.validator),
        "dataPath": data_path,
        "schemaPath": "#/" + "/".join(str(p) for p in error.relative_schema_path),
        "params": _params(error),
        "message": f"{where} {error.message}",
    }


class Schema:
    """A compiled schema: validate a value and convert its date fields."""

    def __init__(self, schema: dict[str, Any]) -> None:
        Draft7Validator.check_schema(schema)
        self.schema = schema
        self._validator = Draft7Validator(schema, format_checker=FORMAT_CHECKER)

    def errors(self, value: Any) -> list[dict[str, Any]]:
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        return [ajv_error(e) for e in errors]

    def validate(self, value: Any) -> Any:
        """The value with dates converted, or ValidationFailed listing every problem."""
        errors = self.errors(value)
        if errors:
            raise ValidationFailed(errors)
        return convert_dates(self.schema, value)


def convert_dates(schema: dict[str, Any], value: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    if schema.get("format") == "date-time" and isinstance(value, str):
        return parse_iso_date(value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        return {k: convert_dates(properties.get(k, {}), v) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [convert_dates(schema["items"], v) for v in value]
    return value
