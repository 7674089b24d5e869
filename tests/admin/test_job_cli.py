"""`circus job register` (spec 8 register-plugin-job, plugins-and-jobs 2.9) against the test database."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import Result
from pymongo.database import Database

from circus_api.imaging.dicom_files import write_image
from tests.admin.conftest import CircusCli
from tests.circus_fixtures import load_fixtures

EMPTY = "d135e1fbb368e35f940ae8e6deb171e90273958dc3938de5a8237b73bb42d9c2"
VEGA = "111.222.333.444.777"  # vega.org; images set to 1-10 here, with files
VEGA_NO_FILES = "111.222.333.444.888"  # vega.org, images 1-150, no files


@pytest.fixture
def run_cli(circus_cli: CircusCli, sync_db: Database) -> Callable[..., Result]:
    load_fixtures(sync_db)
    sync_db.series.update_one({"seriesUid": VEGA}, {"$set": {"images": "1-10"}})
    data = circus_cli.data
    for number in range(1, 11):  # the coverage check only looks at the stored image numbers
        write_image(data / "dicom", VEGA, number, b"not read")
    return lambda *args: circus_cli("job", "register", *args)


def test_register_prints_the_job_id_and_queues_the_job(run_cli: Any, sync_db: Database) -> None:
    result = run_cli(EMPTY, VEGA, "--user", "bob@example.com", "--priority", "-3")
    assert result.exit_code == 0, result.output
    job_id = result.output.strip()
    assert re.fullmatch(r"[0-9a-z]{26}", job_id)
    job = sync_db.pluginJobs.find_one({"jobId": job_id})
    assert job is not None
    assert (job["pluginId"], job["userEmail"], job["status"]) == (EMPTY, "bob@example.com", "in_queue")
    # without a descriptor: the first image segment ascending, no orientation
    assert job["series"] == [{"seriesUid": VEGA, "partialVolumeDescriptor": {"start": 1, "end": 10, "delta": 1}}]
    row = sync_db.pluginJobQueue.find_one({"jobId": job_id})
    assert row is not None
    assert (row["priority"], row["state"]) == (-3, "wait")
    assert "force" not in row["payload"]


def test_register_takes_a_plugin_name_a_descriptor_and_a_login_id(run_cli: Any, sync_db: Database) -> None:
    result = run_cli("MOCK-EMPTY", f"{VEGA}:9:3:-2", "--user", "carol")
    assert result.exit_code == 0, result.output
    job = sync_db.pluginJobs.find_one({"jobId": result.output.strip()})
    assert job is not None
    assert job["userEmail"] == "carol@example.com"
    assert job["series"][0]["partialVolumeDescriptor"] == {"start": 9, "end": 3, "delta": -2}


def test_the_duplicate_rule_applies_without_force(run_cli: Any, sync_db: Database) -> None:
    assert run_cli(EMPTY, VEGA, "--user", "bob").exit_code == 0
    result = run_cli(EMPTY, f"{VEGA}:1:10:1", "--user", "carol")
    assert result.exit_code != 0
    assert "There is a duplicate job that is already registered." in result.output
    assert sync_db.pluginJobQueue.count_documents({}) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["NO-SUCH-PLUGIN", VEGA, "--user", "bob"], "Specified plugin does not exist."),
        ([EMPTY, VEGA, "--user", "nobody"], "No single user has the e-mail or login ID 'nobody'."),
        ([EMPTY, VEGA, "--user", "frank"], 'You do not have "executePlugin" privilege of this plugin.'),
        ([EMPTY, "9.9.9", "--user", "bob"], "Nonexistent series."),
        ([EMPTY, f"{VEGA}:1:11:1", "--user", "bob"], "Specified range is invalid."),
        ([EMPTY, f"{VEGA}:1:10:0", "--user", "bob"], "Invalid partial volume descriptor:"),
        ([EMPTY, "111.222.333.444.555", "--user", "bob"], "You cannot access this series."),
        ([EMPTY, VEGA_NO_FILES, "--user", "bob"], f"Series {VEGA_NO_FILES} not found."),
    ],
)
def test_register_errors_exit_non_zero_with_the_message(
    run_cli: Any, sync_db: Database, args: list[str], message: str
) -> None:
    result = run_cli(*args)
    assert result.exit_code != 0
    assert message in result.output
    assert sync_db.pluginJobQueue.count_documents({}) == 0
    assert sync_db.pluginJobs.count_documents({"userEmail": {"$ne": "circus@example.com"}}) == 2  # the fixtures'


def test_register_needs_a_plugin_a_series_and_a_user(run_cli: Any) -> None:
    assert run_cli(EMPTY, "--user", "bob").exit_code == 2
    assert run_cli(EMPTY, VEGA).exit_code == 2
    assert run_cli(EMPTY, "1.2:3", "--user", "bob").exit_code == 2
