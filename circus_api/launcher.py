"""Bringing the platform's parts up and down: embedded servers, workers, the job manager.

When `MONGO_URL`/`REDIS_URL` are unset, the embedded servers are started on the data directory,
and their URLs are written to `<data dir>/run/services.json` so that admin commands run in another
terminal (`circus user add ...`) reach the same database while the platform is up.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from circus_api.embedded import EmbeddedMongo, EmbeddedRedis
from circus_api.settings import Settings

CHILD_STOP_TIMEOUT_S = 20


def run_file(settings: Settings) -> Path:
    return settings.data_dir / "run" / "services.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def running_services(settings: Settings) -> dict[str, str]:
    """URLs of the embedded servers of a platform that is up on this data directory, if any."""
    path = run_file(settings)
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return recorded if _pid_alive(int(recorded.get("pid", 0))) else {}


@contextlib.contextmanager
def infrastructure(settings: Settings, need_redis: bool) -> Iterator[Settings]:
    """Settings whose database (and broker) URLs answer: configured, already up, or started here."""
    running = running_services(settings)
    with contextlib.ExitStack() as stack:
        mongo_url, redis_url = settings.mongo_url, settings.redis_url
        started: dict[str, str] = {}
        if mongo_url is None:
            mongo_url = running.get("mongo_url")
        if mongo_url is None:
            mongo = stack.enter_context(EmbeddedMongo(settings.data_dir / "mongo"))
            mongo_url = started["mongo_url"] = mongo.url
        if need_redis and redis_url is None:
            redis_url = running.get("redis_url")
            if redis_url is None:
                redis = stack.enter_context(EmbeddedRedis(settings.data_dir / "redis"))
                redis_url = started["redis_url"] = redis.url
        if started:
            path = run_file(settings)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps({**running, **started, "pid": os.getpid()}))
            stack.callback(path.unlink, missing_ok=True)
        yield replace(settings, mongo_url=mongo_url, redis_url=redis_url)


def child_environment(settings: Settings) -> dict[str, str]:
    """The environment for worker and job-manager processes: this process's, plus the URLs."""
    env = dict(os.environ)
    if settings.mongo_url:
        env["MONGO_URL"] = settings.mongo_url
    env["CIRCUS_DB"] = settings.database
    if settings.redis_url:
        env["REDIS_URL"] = settings.redis_url
    env["CIRCUS_DATA_DIR"] = str(settings.data_dir)
    for name, path in settings.storage_dirs().items():
        env[name] = str(path)
    return env


@contextlib.contextmanager
def child_process(args: list[str], settings: Settings) -> Iterator[subprocess.Popen[bytes]]:
    """A `circus ...` child process, stopped with SIGTERM (then SIGKILL) when the block ends."""
    command = [sys.executable, "-m", "circus_api.cli", *args]
    proc = subprocess.Popen(command, env=child_environment(settings), start_new_session=True)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=CHILD_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def run_foreground(command: list[str], env: dict[str, str]) -> int:
    """Run a command as this process's stand-in: SIGINT/SIGTERM are passed on, its code returned."""
    proc = subprocess.Popen(command, env=env)

    def forward(signum: int, _frame: object) -> None:
        proc.send_signal(signum)

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return proc.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
