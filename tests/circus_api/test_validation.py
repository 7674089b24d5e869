"""Request-body validation (spec 0.3 step 4, 0.5): ajv-shaped errors and date conversion."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from circus_api.errors import ValidationFailed
from circus_api.schemas.common import DATE, strict_object
from circus_api.validation import Schema

SCHEMA = Schema(strict_object(
    {
        "name": {"type": "string", "minLength": 1, "maxLength": 8},
        "count": {"type": "integer", "minimum": 0, "maximum": 10},
        "kind": {"enum": ["a", "b"]},
        "color": {"type": "string", "format": "color"},
        "code": {"type": "string", "pattern": "^[A-Z]+$"},
        "when": DATE,
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
        "nested": strict_object({"uid": {"type": "string", "format": "dicomUid"}, "at": DATE}, ["uid"]),
        "events": {"type": "array", "items": strict_object({"at": DATE, "note": {"type": "string"}})},
    },
    ["name"],
))


def errors_of(value: Any, schema: Schema = SCHEMA) -> list[dict[str, Any]]:
    with pytest.raises(ValidationFailed) as caught:
        schema.validate(value)
    assert caught.value.status_code == 400
    assert caught.value.body() == {"error": "Request data is not correct.", "validationErrors": caught.value.errors}
    return caught.value.errors


def only_error(value: Any) -> dict[str, Any]:
    [error] = errors_of(value)
    assert set(error) == {"keyword", "dataPath", "schemaPath", "params", "message"}
    return error


# ---- error shape -----------------------------------------------------------------------------


def test_a_missing_required_property() -> None:
    error = only_error({})
    assert error["keyword"] == "required"
    assert error["dataPath"] == ""
    assert error["schemaPath"] == "#/required"
    assert error["params"] == {"missingProperty": "name"}
    assert "'name'" in error["message"]


def test_an_unknown_property() -> None:
    error = only_error({"name": "x", "nickname": "y"})
    assert error["keyword"] == "additionalProperties"
    assert error["dataPath"] == ""
    assert error["schemaPath"] == "#/additionalProperties"
    assert error["params"] == {"additionalProperty": "nickname"}
    assert "nickname" in error["message"]


def test_a_wrong_type() -> None:
    error = only_error({"name": 5})
    assert error == {
        "keyword": "type",
        "dataPath": ".name",
        "schemaPath": "#/properties/name/type",
        "params": {"type": "string"},
        "message": error["message"],
    }
    assert error["message"].startswith(".name ")


def test_a_value_outside_an_enum() -> None:
    error = only_error({"name": "x", "kind": "c"})
    assert error["keyword"] == "enum"
    assert error["dataPath"] == ".kind"
    assert error["schemaPath"] == "#/properties/kind/enum"
    assert error["params"] == {"allowedValues": ["a", "b"]}
    assert error["message"].startswith(".kind ")


@pytest.mark.parametrize(
    ("value", "keyword", "limit"),
    [({"name": ""}, "minLength", 1), ({"name": "x" * 9}, "maxLength", 8),
     ({"name": "x", "count": -1}, "minimum", 0), ({"name": "x", "count": 11}, "maximum", 10),
     ({"name": "x", "tags": ["a", "b", "c"]}, "maxItems", 2)],
)
def test_a_limit_names_the_limit(value: dict[str, Any], keyword: str, limit: int) -> None:
    error = only_error(value)
    assert error["keyword"] == keyword
    assert error["params"] == {"limit": limit}


def test_a_pattern_mismatch() -> None:
    error = only_error({"name": "x", "code": "abc"})
    assert error["keyword"] == "pattern"
    assert error["dataPath"] == ".code"
    assert error["params"] == {"pattern": "^[A-Z]+$"}


@pytest.mark.parametrize(
    ("value", "data_path", "format_name"),
    [({"name": "x", "color": "#FFFFFF"}, ".color", "color"),
     ({"name": "x", "when": "next tuesday"}, ".when", "date-time"),
     ({"name": "x", "nested": {"uid": "1.2.abc"}}, ".nested.uid", "dicomUid")],
)
def test_a_format_mismatch(value: dict[str, Any], data_path: str, format_name: str) -> None:
    error = only_error(value)
    assert error["keyword"] == "format"
    assert error["dataPath"] == data_path
    assert error["params"] == {"format": format_name}
    assert error["message"].startswith(f"{data_path} ")


def test_data_paths_go_through_objects_and_arrays() -> None:
    error = only_error({"name": "x", "events": [{"note": "ok"}, {"note": 3}]})
    assert error["dataPath"] == ".events[1].note"
    assert error["schemaPath"] == "#/properties/events/items/properties/note/type"
    assert error["message"].startswith(".events[1].note ")


def test_a_nested_required_property_names_its_parent() -> None:
    error = only_error({"name": "x", "nested": {}})
    assert error["keyword"] == "required"
    assert error["dataPath"] == ".nested"
    assert error["params"] == {"missingProperty": "uid"}


def test_every_problem_is_reported_in_document_order() -> None:
    errors = errors_of({"name": 1, "kind": "z", "tags": [1]})
    assert [(e["dataPath"], e["keyword"]) for e in errors] == [
        (".kind", "enum"), (".name", "type"), (".tags[0]", "type"),
    ]


def test_a_body_of_the_wrong_type_is_reported_at_the_root() -> None:
    error = only_error([{"name": "x"}])
    assert error["keyword"] == "type"
    assert error["dataPath"] == ""
    assert error["params"] == {"type": "object"}
    assert error["message"].startswith("(body) ")


# ---- dates -----------------------------------------------------------------------------------


def test_a_valid_body_comes_back_with_dates_converted() -> None:
    value = {
        "name": "x",
        "when": "2020-01-02T03:04:05.678Z",
        "nested": {"uid": "1.2.840.10008", "at": "2020-01-02T12:00:00+09:00"},
        "events": [{"at": "2021-06-01T00:00:00Z", "note": "a"}, {"note": "no date"}],
        "tags": ["2020-01-01T00:00:00Z"],
    }
    assert SCHEMA.validate(value) == {
        "name": "x",
        "when": dt.datetime(2020, 1, 2, 3, 4, 5, 678000),
        "nested": {"uid": "1.2.840.10008", "at": dt.datetime(2020, 1, 2, 3, 0, 0)},
        "events": [{"at": dt.datetime(2021, 6, 1), "note": "a"}, {"note": "no date"}],
        "tags": ["2020-01-01T00:00:00Z"],  # not a date field: left as it is
    }


def test_converted_dates_are_naive_utc() -> None:
    converted = SCHEMA.validate({"name": "x", "when": "2020-01-01T09:00:00+09:00"})["when"]
    assert converted.tzinfo is None
    assert converted == dt.datetime(2020, 1, 1, 0, 0, 0)


def test_validation_does_not_change_the_input() -> None:
    value = {"name": "x", "when": "2020-01-01T00:00:00Z"}
    SCHEMA.validate(value)
    assert value == {"name": "x", "when": "2020-01-01T00:00:00Z"}


def test_an_invalid_schema_is_refused_when_compiled() -> None:
    with pytest.raises(Exception, match="is not valid"):
        Schema({"type": "no-such-type"})
