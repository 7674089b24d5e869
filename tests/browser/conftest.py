"""The web UI in a real browser: Debian's Chromium driven by Playwright (no browser download).

`circus_server` (session) is the real platform as an operator starts it: `circus serve` (the API,
the web UI, and a task worker process on its own embedded Redis) plus `circus job-manager`, in
subprocesses on a free port, over a database of the session's SecantusDB holding CIRCUS's
fixtures and a real DICOM upload (CIRCUS's head-first and foot-first MR series, as bob into
vega.org, through the worker; with one non-DICOM file, so the quarantine has an entry).
Subprocesses keep this server's broker, worker and event loops apart from the other tests'.

`chromium` is per module: Playwright's sync API holds an event loop on the test thread while it
is open, which the asyncio tests of later modules must not find. `page` is a fresh browser
context (no cookies) at 1280x800 whose relative URLs go to the server. `signed_in(page, user)`
signs in through the form.

Modules share the server: one that changes data uses `fresh_database` (module scope: reset before
and after), as in `pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("fresh_database")]`.

`shoot(page, name)` takes a 1280x800 screenshot: into docs/screenshots/ (the README's pictures)
when CIRCUS_SCREENSHOTS=1 is set (`make screenshots`), else into a temporary folder, so that a test
run never changes the working tree.

Tests here are marked `browser` (pytestmark); without /usr/bin/chromium they skip, and with
CI=true they fail instead.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pymongo import MongoClient
from pymongo.database import Database

from tests.circus_api.conftest import TOKENS
from tests.circus_api.imaging.fixture_files import FOOT_FIRST_UID, HEAD_FIRST_UID, fixture_files
from tests.circus_fixtures import load_fixtures
from tests.conftest import IN_CI, free_port, wait_for_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 800}
# the fixture users' passwords (comments of shared/data/circus-fixture/fixture/users.yaml; dave's
# comment is wrong: his hash matches no `<name>Secret`, so tests cannot sign him in)
PASSWORDS = {name: f"{name}Secret" for name in ("alice", "bob", "guest", "carol", "eve", "frank")}
UPLOAD_DOMAIN = "vega.org"
IMPORTED_SERIES = (HEAD_FIRST_UID, FOOT_FIRST_UID)
NOT_DICOM_NAME = "scan-notes.txt"
STOP_TIMEOUT_S = 25
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@dataclass
class CircusServer:
    """The running platform, and a synchronous client of its database for seeding and checks."""

    url: str
    db: Database
    data_dir: Path
    log: Path
    baseline: dict[str, list[dict[str, Any]]]  # documents the initial upload made (see reset)

    def api(self, user: str) -> httpx.Client:
        """An httpx client of the server acting as a fixture user (bearer token)."""
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {TOKENS[user]}"}, timeout=30)

    def reset(self) -> None:
        """Back to the state the session started with: the fixtures plus the imported series.
        Signs everybody out (the tokens collection is reloaded too)."""
        load_fixtures(self.db)
        for collection, docs in self.baseline.items():
            self.db[collection].delete_many({})
            if docs:
                self.db[collection].insert_many([{k: v for k, v in d.items() if k != "_id"} for d in docs])
        self.db["pluginJobManager"].delete_many({"key": "switch"})


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _upload(client: httpx.Client, files: list[tuple[str, tuple[str, bytes, str]]]) -> dict[str, Any]:
    """Upload as bob into vega.org and wait for the import task to end (the worker may still be
    starting); returns the task."""
    response = client.post(f"/api/series/domain/{UPLOAD_DOMAIN}", files=files)
    assert response.status_code == 201, response.text
    task_id = str(response.json()["taskId"])
    deadline = time.monotonic() + 90
    while True:
        task: dict[str, Any] = client.get(f"/api/tasks/{task_id}").json()
        if task["status"] != "processing":
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"the fixture upload did not finish: {task}")
        time.sleep(0.2)


def _upload_fixture_files(url: str) -> None:
    dicom = [("files", (p.name, p.read_bytes(), "application/octet-stream"))
             for prefix in ("head-first", "foot-first") for p in fixture_files(prefix)]
    not_dicom = [("files", (NOT_DICOM_NAME, b"Reader's notes, not an image.\n", "text/plain"))]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKENS['bob']}"}, timeout=60) as client:
        imported = _upload(client, dicom)
        assert imported["status"] == "finished", imported
        refused = _upload(client, not_dicom)  # ends in error; the file goes to the quarantine
        assert refused["status"] == "error", refused


@pytest.fixture(scope="session")
def circus_server(mongo_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CircusServer]:
    data = tmp_path_factory.mktemp("browser-server")
    database = f"browser_{os.getpid()}"
    client: MongoClient = MongoClient(mongo_url, timeoutMS=30_000)
    client.drop_database(database)
    db = client[database]
    load_fixtures(db)
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith(("CIRCUS_", "REDIS_"))}
    env.update({"MONGO_URL": mongo_url, "CIRCUS_DB": database, "CIRCUS_DATA_DIR": str(data),
                "CIRCUS_HOST": "127.0.0.1", "CIRCUS_PORT": str(port), "CIRCUS_JOB_POLL_SECONDS": "0.5"})
    log = data / "server.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        with open(log, "wb") as out:
            for command in (["serve"], ["job-manager"]):
                procs.append(subprocess.Popen([sys.executable, "-m", "circus_api.cli", *command], env=env,
                                              stdout=out, stderr=subprocess.STDOUT, start_new_session=True))
        wait_for_port(port, procs[0], log, timeout=60)
        url = f"http://127.0.0.1:{port}"
        _upload_fixture_files(url)
        baseline = {name: list(db[name].find({})) for name in ("series", "tasks")}
        yield CircusServer(url, db, data, log, baseline)
    finally:
        for proc in reversed(procs):
            _stop(proc)
        client.drop_database(database)
        client.close()


@pytest.fixture(scope="module")
def fresh_database(circus_server: CircusServer) -> Iterator[None]:
    """The session's server back at its starting state for one module, and again after it:
    modules share one server, so each starts from the same data whatever ran before."""
    circus_server.reset()
    yield
    circus_server.reset()


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[dev]')")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium: Any, circus_server: CircusServer) -> Iterator[Any]:
    context = chromium.new_context(base_url=circus_server.url, viewport=VIEWPORT, timezone_id="UTC", locale="en-US")
    context.set_default_timeout(15_000)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def signed_in(page: Any, user: str, next_path: str | None = None) -> Any:
    """Sign `user` in through the form (optionally with `?next=`); returns the page, signed in."""
    page.goto("/signin" + (f"?next={next_path}" if next_path else ""))
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORDS[user])
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/signin" not in url)
    return page


def session_cookie(page: Any) -> str:
    cookies = [c for c in page.context.cookies() if c["name"] == "circus_session"]
    assert len(cookies) == 1
    return str(cookies[0]["value"])


_screenshots: list[Path] = []


def shoot(page: Any, name: str) -> Path:
    """Screenshot the viewport as `<name>.png` (see the module docstring for where it goes)."""
    if not _screenshots:
        import tempfile

        folder = DOCS_SCREENSHOTS if os.environ.get("CIRCUS_SCREENSHOTS") == "1" else Path(
            tempfile.mkdtemp(prefix="circus-screenshots-"))
        folder.mkdir(parents=True, exist_ok=True)
        _screenshots.append(folder)
    path = _screenshots[0] / f"{name}.png"
    page.mouse.move(0, 0)  # no hover effect in the picture
    page.screenshot(path=str(path), full_page=False, animations="disabled", caret="hide")
    return path


def canvas_pixel(page: Any, x: float, y: float, canvas: str = ".circus-viewer-canvas") -> list[int]:
    """RGBA of the viewer canvas (CSS selector `canvas`) at client coordinates (x, y)."""
    return list(page.evaluate(
        """([x, y, selector]) => {
            const canvas = document.querySelector(selector);
            const rect = canvas.getBoundingClientRect();
            const k = canvas.width / rect.width;
            return Array.from(canvas.getContext("2d").getImageData(
                Math.floor((x - rect.left) * k), Math.floor((y - rect.top) * k), 1, 1).data);
        }""",
        [x, y, canvas],
    ))
