"""`plugin-log.txt` of one job, fed from the event loop and from Docker reader threads, and the
job's `log` / `progress` events.

Lines of the job manager carry an ISO timestamp (`[2026-01-02T03:04:05.678Z] Starting ...`),
sub-steps are indented by two spaces, container output is written as it comes (stdout and
stderr demultiplexed, interleaved in arrival order).

Progress protocol for plug-ins: a line on **stdout** that is a JSON object with a `progress` key,
e.g. `{"progress": 0.42, "message": "Segmenting the liver"}` (`progress` a number from 0 to 1 or
null, `message` optional), becomes a progress event. It is kept in plugin-log.txt but not repeated
as a log event.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import threading
from pathlib import Path
from typing import IO, Any

from job_manager.events import PROGRESS_INTERVAL_S, JobEvents

log = logging.getLogger(__name__)

LOG_FILE_NAME = "plugin-log.txt"
MAX_LOG_BYTES = 20 * 1024 * 1024  # beyond this the plug-in's output is dropped (disk of the host)
MAX_EVENT_LINES = 10_000  # log lines sent as events per job; the file keeps everything up to MAX_LOG_BYTES
MAX_EVENT_LINE_CHARS = 4000


def timestamp() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_progress(line: str) -> dict[str, Any] | None:
    """`{"progress": p, "message": m}` from a progress line, else None."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    try:
        obj = json.loads(text)
    except ValueError:
        return None
    if not isinstance(obj, dict) or "progress" not in obj:
        return None
    value = obj["progress"]
    progress = None
    if isinstance(value, int | float) and not isinstance(value, bool) and value == value:  # NaN != NaN
        progress = min(1.0, max(0.0, float(value)))
    message = obj.get("message")
    return {"progress": progress, "message": message[:MAX_EVENT_LINE_CHARS] if isinstance(message, str) else None}


class JobLog:
    """Thread-safe writer of one job's log; `pump()` turns what was written into events."""

    def __init__(self, path: Path, events: JobEvents | None = None) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._events = events
        self._lock = threading.Lock()
        self._file: IO[bytes] = open(path, "ab")  # noqa: SIM115 (closed by close())
        self._written = 0
        self._truncated = False
        self._pending_lines: list[str] = []
        self._pending_progress: list[dict[str, Any]] = []
        self._event_lines = 0
        self._partial: dict[str, str] = {"stdout": "", "stderr": ""}
        self._pump_task: asyncio.Task[None] | None = None

    # --- writing (any thread) ---

    def line(self, text: str) -> None:
        """A line of the job manager, timestamped."""
        self._write(f"[{timestamp()}] {text}\n")

    def detail(self, text: str) -> None:
        """An indented sub-step line, without timestamp (as CIRCUS's runner)."""
        self._write(f"  {text}\n")

    def output(self, stream: str, data: bytes) -> None:
        """A chunk of container output (`stream` is `stdout` or `stderr`)."""
        text = data.decode("utf-8", errors="replace")
        with self._lock:
            self._write_locked(data)
            buffered = self._partial.get(stream, "") + text
            *complete, rest = buffered.split("\n")
            self._partial[stream] = rest[-MAX_EVENT_LINE_CHARS:]
            for one in complete:
                self._queue_line_locked(one, stream)

    def end_output(self) -> None:
        """The container's streams closed: unterminated last lines count as lines."""
        with self._lock:
            for stream, rest in self._partial.items():
                if rest:
                    self._write_locked(b"\n")
                    self._queue_line_locked(rest, stream)
            self._partial = {"stdout": "", "stderr": ""}

    def _write(self, text: str) -> None:
        with self._lock:
            self._write_locked(text.encode("utf-8"))
            for one in text.rstrip("\n").split("\n"):
                self._queue_line_locked(one, "manager")

    def _write_locked(self, data: bytes) -> None:
        if self._file.closed:
            return
        if self._written + len(data) > MAX_LOG_BYTES:
            if not self._truncated:
                self._truncated = True
                self._file.write(b"\n[log truncated: more than 20 MiB of output]\n")
                self._file.flush()
            return
        self._file.write(data)
        self._file.flush()  # the log is read while the job runs (attachments, "Investigate")
        self._written += len(data)

    def _queue_line_locked(self, line: str, stream: str) -> None:
        line = line.rstrip("\r")
        if stream == "stdout":
            progress = parse_progress(line)
            if progress is not None:
                self._pending_progress.append(progress)
                return
        if self._event_lines < MAX_EVENT_LINES:
            self._event_lines += 1
            self._pending_lines.append(line[:MAX_EVENT_LINE_CHARS])

    # --- events (event loop) ---

    async def flush_events(self) -> None:
        if self._events is None:
            return
        with self._lock:
            lines, self._pending_lines = self._pending_lines, []
            progress, self._pending_progress = self._pending_progress, []
        await self._events.log_lines(lines)
        if progress:  # only the latest counts; the writer throttles
            await self._events.progress(progress[-1]["progress"], progress[-1]["message"])
        await self._events.flush(due_only=True)

    async def _pump(self) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            try:
                await self.flush_events()
            except Exception:  # events are a convenience: never fail a job over them
                log.warning("job events not written", exc_info=True)

    def start_pump(self) -> None:
        self._pump_task = asyncio.get_running_loop().create_task(self._pump())

    async def close(self) -> None:
        if self._pump_task is not None:
            self._pump_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump_task
        try:
            await self.flush_events()
            if self._events is not None:
                await self._events.flush()
        except Exception:
            log.warning("job events not written", exc_info=True)
        with self._lock:
            self._file.close()
