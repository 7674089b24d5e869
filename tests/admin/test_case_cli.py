"""`circus case register` (spec 8 register-case) against the test database."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from pymongo.database import Database

from admin.case_cli import parse_series_argument
from tests.admin.conftest import CircusCli
from tests.circus_fixtures import load_fixtures

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
VEGA_236 = "111.222.333.444.777"  # vega.org, images 1-236, no DICOM files
VEGA_150 = "111.222.333.444.888"


@pytest.fixture
def run_cli(circus_cli: CircusCli, sync_db: Database) -> Callable[..., Result]:
    load_fixtures(sync_db)
    return lambda *args: circus_cli("case", "register", *args)


def test_register_prints_the_new_case_id(run_cli: Any, sync_db: Database) -> None:
    result = run_cli(LUNG, VEGA_236, f"{VEGA_150}:150:1:-1", "--user", "bob@example.com", "--tags", "a,b")
    assert result.exit_code == 0, result.output
    case_id = result.output.strip()
    assert re.fullmatch(r"[0-9a-z]{26}", case_id)
    case = sync_db.clinicalCases.find_one({"caseId": case_id})
    assert case is not None
    assert case["projectId"] == LUNG
    assert case["tags"] == ["a", "b"]
    assert case["domains"] == ["vega.org"]
    revision = case["latestRevision"]
    assert revision["creator"] == "bob@example.com"
    assert revision["description"] == "Created new case."
    # without a descriptor: the first image segment ascending, no orientation (no files needed)
    assert [s["partialVolumeDescriptor"] for s in revision["series"]] == [
        {"start": 1, "end": 236, "delta": 1}, {"start": 150, "end": 1, "delta": -1}
    ]


def test_register_takes_a_project_name_and_a_login_id(run_cli: Any, sync_db: Database) -> None:
    result = run_cli("Lung nodules", VEGA_236, "--user", "frank")
    assert result.exit_code == 0, result.output
    case = sync_db.clinicalCases.find_one({"caseId": result.output.strip()})
    assert case is not None
    assert case["latestRevision"]["creator"] == "frank@example.com"
    assert case["tags"] == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["No such project", VEGA_236, "--user", "bob"], "Specified project does not exist."),
        ([LUNG, VEGA_236, "--user", "guest"], "You do not have write privilege for this project."),
        ([LUNG, VEGA_236, "--user", "nobody"], "No single user has the e-mail or login ID 'nobody'."),
        ([LUNG, "9.9.9", "--user", "bob"], "This series does not exist."),
        ([LUNG, f"{VEGA_236}:1:300:1", "--user", "bob"], "Specified range is invalid."),
        ([LUNG, f"{VEGA_236}:1:10:0", "--user", "bob"], "Invalid partial volume descriptor:"),
        ([LUNG, "111.222.333.444.555", "--user", "bob"], "You do not have privilege to access this series."),
    ],
)
def test_register_errors_exit_non_zero_with_the_message(
    run_cli: Any, sync_db: Database, args: list[str], message: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code == 1
    assert message in result.output
    assert sync_db.clinicalCases.count_documents({}) == 4  # the fixtures only


@pytest.mark.parametrize(
    "args", [[LUNG, "--user", "bob"], [LUNG, VEGA_236], [LUNG, f"{VEGA_236}:1:2", "--user", "bob"]]
)
def test_register_usage_errors_exit_2(run_cli: Any, args: list[str]) -> None:
    assert run_cli(*args).exit_code == 2


def test_series_arguments() -> None:
    assert parse_series_argument("1.2.3") == {"seriesUid": "1.2.3", "partialVolumeDescriptor": None}
    assert parse_series_argument("1.2.3:10:1:-1") == {
        "seriesUid": "1.2.3", "partialVolumeDescriptor": {"start": 10, "end": 1, "delta": -1}
    }
