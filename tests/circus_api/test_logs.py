"""JSON log lines: one object per record, extras kept, uvicorn's colour copy of the message dropped."""

from __future__ import annotations

import json
import logging
import sys

from circus_api.logs import JsonLines


def record(**extra: object) -> logging.LogRecord:
    made = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Started server process [%d]", (42,), None)
    made.__dict__.update(extra)
    return made


def test_a_record_is_one_json_object_with_its_extra_fields() -> None:
    line = json.loads(JsonLines().format(record(task_id="t1")))
    assert line["level"] == "info" and line["logger"] == "uvicorn.error"
    assert line["msg"] == "Started server process [42]"
    assert line["task_id"] == "t1"


def test_uvicorns_coloured_copy_of_the_message_is_left_out() -> None:
    line = json.loads(JsonLines().format(record(color_message="Started server process [\x1b[36m%d\x1b[0m]")))
    assert "color_message" not in line


def test_an_exception_is_logged_with_its_traceback() -> None:
    try:
        raise ValueError("broken")
    except ValueError:
        failed = logging.LogRecord("circus", logging.ERROR, __file__, 1, "failed", (), sys.exc_info())
    line = json.loads(JsonLines().format(failed))
    assert "ValueError: broken" in line["exc"]
