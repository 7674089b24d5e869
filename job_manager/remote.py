"""Remote plug-ins (`CAD+remote`, spec 6): the adapter registry and CIRCUS's default HTTP adapter.

A remote plug-in runs on another server instead of in a container. Its adapter sends the job's
input files, relays the server's log into the job log and brings back a tar of the output, which
is extracted into `out/`; the normal post-process (results.json, attachments) follows.

Adapters: `default` and `defaultHttpAdapter` (CIRCUS's only one) name the HTTP adapter below.
A missing `runConfiguration` fails the job with `No runConfiguration in the plugin`, a missing
adapter name with `No adapter in the plugin's runConfiguration`, an unknown one with
`No such adapter: <name>`; all of them before the voxel dump. An adapter's failure becomes
`Remote CAD failed: <message>` (spec 5.8).

Decisions where CIRCUS is silent or inconsistent:
- `parameters.authentication` is read, with the schema's misspelt `authentification` as fallback;
  with neither (or an empty one) no `Authorization` header is sent (CIRCUS: `Bearer undefined`).
- `parameters.timeout` (seconds, default 300, 0 = none, fractions allowed) bounds the submission
  until the response headers arrive, upload included; the event stream after that is unbounded,
  as CIRCUS (the job can still be stopped by the daemon). A submission that times out or cannot
  connect fails with `Failed to submit job: <reason>` (CIRCUS: `Internal error: <reason>`).
- The result fetch waits 30 s for headers, then at most 30 s between two chunks of the body; the
  archive is spooled to the job folder (at most 2 GiB) and must expand to at most 2 GiB.
- `maxConcurrency` and `env` are read but not used, as CIRCUS: the daemon's slots bound how many
  jobs run at once, and `env` (stored as display-strategy-shaped objects by CIRCUS's schema) has
  no defined meaning for a remote server, so nothing of it is sent.
- The result archive is checked before anything is written: plain relative names only (no
  absolute paths, no `..`), regular files and folders only (no links, devices, sparse files),
  then extracted with tarfile's `data` filter as a second guard. Violations fail the job with the
  same `Plug-in output rejected: ...` messages as a container's output.
- A trailing `/` of the endpoint is dropped (CIRCUS would request `//run`); the request id from
  `X-Request-ID` is URL-quoted into `<endpoint>/result/<id>`.
- An event stream that ends without `finished` is accepted, as CIRCUS (the result fetch decides);
  a `data:` line that is not JSON fails the job as a stream read error.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import os
import re
import tarfile
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import anyio
import anyio.to_thread
import httpx

from job_manager.errors import JobError, cancellation_pending
from job_manager.joblog import JobLog
from job_manager.results import MAX_OUTPUT_ENTRIES, relative_parts
from job_manager.runner import RunOutcome

CAD_TYPE = "CAD"
REMOTE_TYPE = "CAD+remote"
DEFAULT_SUBMIT_TIMEOUT_S = 300.0
RESULT_TIMEOUT_S = 30.0
MAX_RESULT_ARCHIVE_BYTES = 2 * 1024**3  # what the server may send
MAX_EXTRACTED_BYTES = 2 * 1024**3  # what the archive may expand to in out/
MAX_EVENT_LINE_CHARS = 1024 * 1024
ARCHIVE_NAME = "remote-result.tar"  # in the job folder, next to in/ and out/
LOG_PREFIX = "[Remote CAD] "

LogLine = Callable[[str], None]


@dataclass(frozen=True)
class RemoteCadDefinition:
    """The adapter's input (CIRCUS's `RemoteCadDefinition`), from `runConfiguration.parameters`."""

    endpoint: str
    authentication: str | None
    timeout_s: float | None  # until the submission's response headers; None: no limit
    max_concurrency: int | None  # read, not used (see the module docstring)
    env: object  # read, not used


class RemoteCadFailed(Exception):
    """An adapter's failure; the message becomes `Remote CAD failed: <message>`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Adapter(Protocol):
    """Runs a job on a remote server: sends the files of `in_dir`, passes log lines to `log` and
    writes the output tar to `archive`. Raises `RemoteCadFailed`; anything else is a bug."""

    async def __call__(self, definition: RemoteCadDefinition, in_dir: Path, archive: Path, log: LogLine) -> None: ...


# --- the definition ---


def definition_of(parameters: object) -> RemoteCadDefinition:
    params: Mapping[str, Any] = parameters if isinstance(parameters, Mapping) else {}
    endpoint = params.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise JobError("The remote plug-in has no endpoint (runConfiguration.parameters.endpoint).")
    # the adapter reads `authentication`, CIRCUS's schema stores `authentification`
    spellings = ("authentication", "authentification")
    authentication = next((value for key in spellings if isinstance(value := params.get(key), str) and value), None)
    timeout = params.get("timeout", DEFAULT_SUBMIT_TIMEOUT_S)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or timeout < 0:
        timeout = DEFAULT_SUBMIT_TIMEOUT_S
    concurrency = params.get("maxConcurrency")
    return RemoteCadDefinition(
        endpoint=endpoint.strip(),
        authentication=authentication,
        timeout_s=float(timeout) or None,
        max_concurrency=concurrency if isinstance(concurrency, int) and not isinstance(concurrency, bool) else None,
        env=params.get("env"),
    )


# --- running ---


def describe(exc: BaseException) -> str:
    """An exception for a user: its message, else its kind (httpx timeouts have no message)."""
    return str(exc).strip() or type(exc).__name__


@dataclass(frozen=True)
class RemoteRun:
    """A remote plug-in ready to run: the adapter and what it was configured with."""

    adapter_name: str
    adapter: Adapter
    definition: RemoteCadDefinition

    async def run(self, in_dir: Path, out_dir: Path, job_log: JobLog) -> RunOutcome:
        """Run the adapter, then extract its output tar into `out_dir` (raises `JobError`)."""
        started = time.monotonic()
        archive = out_dir.parent / ARCHIVE_NAME
        job_log.detail(f"Sending the job to {self.definition.endpoint} (adapter {self.adapter_name})...")
        try:
            await self._run_adapter(in_dir, archive, job_log)
            names = await anyio.to_thread.run_sync(extract_result_archive, archive, out_dir)
        finally:
            await anyio.to_thread.run_sync(lambda: archive.unlink(missing_ok=True))
        job_log.detail(f"{len(names)} result files received.")
        return RunOutcome(None, time.monotonic() - started)

    async def _run_adapter(self, in_dir: Path, archive: Path, job_log: JobLog) -> None:
        try:
            await self.adapter(self.definition, in_dir, archive, lambda text: job_log.line(LOG_PREFIX + text))
        except RemoteCadFailed as exc:
            raise JobError(f"Remote CAD failed: {exc.message}") from None
        except Exception as exc:  # an adapter never crashes a job (spec 6): its bugs are failures too
            if cancellation_pending():
                raise asyncio.CancelledError() from exc
            raise JobError(f"Remote CAD failed: Internal error: {describe(exc)}") from exc


def remote_run_of(plugin: Mapping[str, Any]) -> RemoteRun | None:
    """None for a Docker (`CAD`) plug-in, else its adapter and parameters.

    Raises `JobError` for an unknown type and for a remote plug-in that cannot run, so a
    misconfigured plug-in fails before its inputs are built.
    """
    plugin_type = plugin.get("type", CAD_TYPE)
    if plugin_type == CAD_TYPE:
        return None
    if plugin_type != REMOTE_TYPE:  # CIRCUS runs any other type as remote; the schema allows none
        raise JobError(f"Unknown plug-in type: {plugin_type!r}.")
    config = plugin.get("runConfiguration")
    if not isinstance(config, Mapping):
        raise JobError("No runConfiguration in the plugin")
    name = config.get("adapter")
    if not isinstance(name, str) or not name:
        raise JobError("No adapter in the plugin's runConfiguration")
    adapter = ADAPTERS.get(name)
    if adapter is None:
        raise JobError(f"No such adapter: {name}")
    return RemoteRun(name, adapter, definition_of(config.get("parameters")))


# --- the result archive ---


def _size_text(size: int) -> str:
    return f"{size // 1024**2} MiB" if size >= 1024**2 else f"{size} bytes"


def _checked_members(tar: tarfile.TarFile, max_bytes: int) -> list[tarfile.TarInfo]:
    """Every member to extract, renamed to its plain relative path; refuses anything unsafe."""
    members: list[tarfile.TarInfo] = []
    total = 0
    for member in tar:
        name = member.name
        while name.startswith("./"):
            name = name[2:]
        if name in ("", "."):  # the archive's own top folder (`tar -C out .`)
            continue
        relative_parts(name)  # no absolute path, no `..`
        if member.issym() or member.islnk():
            raise JobError(f"Plug-in output rejected: {name} is a link.")
        if member.issparse() or not (member.isreg() or member.isdir()):
            raise JobError(f"Plug-in output rejected: {name} is not a regular file or folder.")
        total += member.size if member.isreg() else 0
        if total > max_bytes:
            raise JobError(f"Plug-in output rejected: more than {_size_text(max_bytes)}.")
        if len(members) >= MAX_OUTPUT_ENTRIES:
            raise JobError(f"Plug-in output rejected: more than {MAX_OUTPUT_ENTRIES} files.")
        member.name = name
        members.append(member)
    return members


def extract_result_archive(archive: Path, out_dir: Path, max_bytes: int = MAX_EXTRACTED_BYTES) -> list[str]:
    """Extract a remote plug-in's output tar into `out_dir`; returns the member names. Blocking.

    Every member is checked before anything is written, so a refused archive leaves `out_dir`
    empty; the `data` filter guards the extraction itself.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = _checked_members(tar, max_bytes)
            tar.extractall(out_dir, members=members, filter="data")
    except tarfile.TarError as exc:
        raise JobError(f"Remote CAD failed: the result data is not a valid tar archive ({describe(exc)}).") from None
    except OSError as exc:
        raise JobError(f"Remote CAD failed: the result data could not be extracted ({exc.strerror or exc}).") from None
    return [member.name for member in members]


# --- Server-Sent Events ---


class EventStreamError(Exception):
    """The submission's event stream cannot be read."""


_LINE_BREAK = re.compile(r"\r\n|\r|\n")


async def event_stream_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[str]:
    """The lines of an event stream (UTF-8; CRLF, CR or LF), each at most 1 Mi characters."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    buffer = ""
    async for chunk in chunks:
        buffer += decoder.decode(chunk)
        held = buffer.endswith("\r")  # maybe the first half of a CRLF
        *lines, buffer = _LINE_BREAK.split(buffer[:-1] if held else buffer)
        buffer += "\r" if held else ""
        if len(buffer) > MAX_EVENT_LINE_CHARS:
            raise EventStreamError(f"a line longer than {MAX_EVENT_LINE_CHARS} characters")
        for line in lines:
            yield line
    buffer += decoder.decode(b"", final=True)
    if buffer:
        *lines, last = _LINE_BREAK.split(buffer)
        for line in [*lines, last] if last else lines:
            yield line


async def server_sent_events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, Any]]:
    """(type, JSON data) of each event, as CIRCUS's parser: the last `data:` line wins, `:` lines
    are comments, a blank line dispatches, events without a type are dropped."""
    event: str | None = None
    data: Any = None
    async for line in lines:
        if not line:
            if event:
                yield event, data
            event, data = None, None
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.strip()
        if field == "event":
            event = value
        elif field == "data":
            try:
                data = json.loads(value) if value else None
            except ValueError as exc:
                raise EventStreamError(f"the data of an event is not JSON ({exc})") from None
    if event:  # the server closed the stream without the final blank line
        yield event, data


def _error_text(data: Any) -> str:
    if isinstance(data, str) and data:
        return data
    if isinstance(data, Mapping) and isinstance(data.get("message"), str) and data["message"]:
        return str(data["message"])
    return "The remote server reported an error." if data is None else json.dumps(data)


# --- the default HTTP adapter ---


def _input_files(in_dir: Path) -> list[Path]:
    """The regular files directly inside the input folder (no recursion, no links)."""
    with os.scandir(in_dir) as entries:
        return sorted(Path(entry.path) for entry in entries if entry.is_file(follow_symlinks=False))


async def _follow_events(response: httpx.Response, log: LogLine) -> str | None:
    """Relay `log` events until `finished` or the end of the stream; the last reported error."""
    error: str | None = None
    try:
        async for event, data in server_sent_events(event_stream_lines(response.aiter_bytes())):
            if event == "log" and data is not None:
                log(data if isinstance(data, str) else json.dumps(data))
            elif event in ("error", "internalServerError"):
                error = _error_text(data)  # CIRCUS keeps reading: the server may still log
            elif event == "finished":
                break
    except (httpx.HTTPError, EventStreamError) as exc:
        raise RemoteCadFailed(f"Error reading server response: {describe(exc)}") from None
    return error


async def _send(
    client: httpx.AsyncClient, request: httpx.Request, timeout_s: float | None, failure: str
) -> httpx.Response:
    """The response, streamed, once its headers came within `timeout_s`; else `<failure>: <why>`."""
    try:
        async with asyncio.timeout(timeout_s):  # only until the response headers
            return await client.send(request, stream=True)
    except TimeoutError:
        raise RemoteCadFailed(f"{failure}: no response within {timeout_s:g} s") from None
    except httpx.HTTPError as exc:
        raise RemoteCadFailed(f"{failure}: {describe(exc)}") from None


async def _submit(
    client: httpx.AsyncClient, base: str, in_dir: Path, timeout_s: float | None, log: LogLine
) -> str:
    """`POST <endpoint>/run` with the input files; follows the event stream; returns the request id."""
    with contextlib.ExitStack() as files:
        parts = [
            ("files", (path.name, files.enter_context(open(path, "rb")), "application/octet-stream"))
            for path in _input_files(in_dir)
        ]
        # httpx reads the files in 64 KiB chunks while it sends them
        request = client.build_request("POST", f"{base}/run", files=parts)
        response = await _send(client, request, timeout_s, "Failed to submit job")
        try:
            if not response.is_success:
                log(f"The server answered the submission with HTTP {response.status_code}.")
                raise RemoteCadFailed("Failed to submit job")
            request_id = response.headers.get("X-Request-ID")
            if not request_id:
                raise RemoteCadFailed("Internal error: No X-Request-ID header in response")
            error = await _follow_events(response, log)
        finally:
            await response.aclose()
    if error is not None:
        raise RemoteCadFailed(error)
    return request_id


async def _fetch_result(client: httpx.AsyncClient, base: str, request_id: str, archive: Path) -> None:
    """`GET <endpoint>/result/<id>`, the output tar, spooled to `archive`."""
    url = f"{base}/result/{quote(request_id, safe='')}"
    request = client.build_request("GET", url, timeout=httpx.Timeout(RESULT_TIMEOUT_S))
    response = await _send(client, request, RESULT_TIMEOUT_S, "Failed to fetch result data")
    try:
        if not response.is_success:
            raise RemoteCadFailed("Failed to fetch result data")
        written = 0
        async with await anyio.open_file(archive, "wb") as out:
            async for chunk in response.aiter_bytes():
                written += len(chunk)
                if written > MAX_RESULT_ARCHIVE_BYTES:
                    raise RemoteCadFailed(
                        f"Failed to fetch result data: larger than {_size_text(MAX_RESULT_ARCHIVE_BYTES)}"
                    )
                await out.write(chunk)
    except httpx.HTTPError as exc:
        raise RemoteCadFailed(f"Failed to fetch result data: {describe(exc)}") from None
    finally:
        await response.aclose()


async def default_http_adapter(definition: RemoteCadDefinition, in_dir: Path, archive: Path, log: LogLine) -> None:
    """CIRCUS's `defaultHttpAdapter` (spec 6): submit, follow the events, fetch the result."""
    base = definition.endpoint.rstrip("/")
    if urlsplit(base).scheme not in ("http", "https") or not urlsplit(base).netloc:
        raise RemoteCadFailed(f"Internal error: the endpoint {definition.endpoint!r} is not an http(s) URL")
    headers = {"Authorization": f"Bearer {definition.authentication}"} if definition.authentication else {}
    # no httpx timeout by default: the submission is bounded by its own timer, the stream is not
    async with httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(None)) as client:
        request_id = await _submit(client, base, in_dir, definition.timeout_s, log)
        await _fetch_result(client, base, request_id, archive)


ADAPTERS: dict[str, Adapter] = {
    "default": default_http_adapter,
    "defaultHttpAdapter": default_http_adapter,
}
