"""`circus_cli`: the `circus` command run in-process (click's runner) against the test's fresh
database (`sync_db`), with the data directory `circus_cli.data` under the test's tmp_path."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from pymongo.database import Database

from circus_api.cli import main


@dataclass(frozen=True)
class CircusCli:
    env: dict[str, str]
    data: Path

    def __call__(self, *args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, input=input)


@pytest.fixture
def circus_cli(mongo_url: str, db_name: str, sync_db: Database, tmp_path: Path) -> Iterator[CircusCli]:
    data = tmp_path / "data"
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    # no REDIS_URL: the commands tested here need no broker, and must not find one by chance
    env = {"MONGO_URL": mongo_url, "CIRCUS_DB": db_name, "CIRCUS_DATA_DIR": str(data), "REDIS_URL": ""}
    yield CircusCli(env, data)
    # `circus` configures logging onto the runner's stream; give pytest its handlers back
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
