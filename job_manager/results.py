"""Post-process (spec 5.6): find `out/results.json`, validate it, copy `out/` into the results store.

Decisions:
- A missing results.json is reported as `The plug-in exited with code <n> without writing
  results.json.` (CIRCUS: `Timeout: File <path>/results.json did not appear within 2000ms`, which
  leaks a host path and hides the exit code). A 1 s wait (CIRCUS: 2 s) is kept for slow file systems.
- Invalid JSON or schema errors: `Plug-in validation failed: <detail>`, as CIRCUS; NaN/Infinity,
  keys MongoDB cannot store (`$...`, NUL) and files over 8 MiB are refused the same way.
- The copy never follows a link: a symbolic link (or a FIFO, device, socket) anywhere under `out/`
  fails the job with `Plug-in output rejected: <relative path> is a symbolic link.` and nothing of
  `out/` is kept. Copied files get mode 0444 and folders 0555, as CIRCUS's extraction.
- A plug-in file named `plugin-log.txt` at the top level is not copied (that name is the job log).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import stat
import time
from pathlib import Path
from typing import Any

import anyio.to_thread
from jsonschema import Draft7Validator

from job_manager.errors import JobError
from job_manager.joblog import LOG_FILE_NAME

RESULTS_FILE = "results.json"
RESULTS_WAIT_S = 1.0  # CIRCUS: 2 s; the bind mount is local, so the file is there or not
MAX_RESULTS_BYTES = 8 * 1024 * 1024  # stored in the job document (MongoDB's limit is 16 MiB)
MAX_OUTPUT_ENTRIES = 100_000
MAX_OUTPUT_DEPTH = 32

_VECTOR = {"type": "array", "items": {"type": "number"}}
RESULTS_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {
        "results": {
            "type": "object",
            "properties": {
                "lesionCandidates": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["confidence", "volumeId", "location"],
                        "properties": {
                            "rank": {"type": "integer", "minimum": 1},
                            "volumeId": {"type": "integer", "minimum": 0},
                            "location": _VECTOR,
                            "volumeSize": {"type": "number"},
                        },
                    },
                }
            },
        },
        "metadata": {
            "type": "object",
            "properties": {
                "displayOptions": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["volumeId"],
                        "properties": {
                            "volumeId": {"type": "number", "minimum": 0},
                            "crop": {
                                "type": "object",
                                "required": ["origin", "size"],
                                "properties": {"origin": _VECTOR, "size": _VECTOR},
                            },
                            "window": {
                                "type": "object",
                                "required": ["level", "width"],
                                "properties": {"level": {"type": "number"}, "width": {"type": "number"}},
                            },
                        },
                    },
                }
            },
        },
    },
}
_VALIDATOR = Draft7Validator(RESULTS_SCHEMA)


def validation_failed(detail: str) -> JobError:
    return JobError(f"Plug-in validation failed: {detail}")


def _data_path(path: Any) -> str:
    """ajv-style `.results.lesionCandidates[0]` for an error location."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in path)


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not allowed")


def _check_keys(obj: Any, path: str = "") -> None:
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key.startswith("$") or "\x00" in key:
                raise validation_failed(f"the key {key!r} at {path or '(top level)'} cannot be stored.")
            _check_keys(value, f"{path}.{key}")
    elif isinstance(obj, list):
        for index, item in enumerate(obj):
            _check_keys(item, f"{path}[{index}]")


def parse_results(data: bytes) -> dict[str, Any]:
    """The parsed, validated results.json (raises `Plug-in validation failed: ...`)."""
    try:
        parsed = json.loads(data.decode("utf-8"), parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise validation_failed("results.json is not UTF-8 text.") from None
    except ValueError as exc:
        raise validation_failed(f"results.json is not valid JSON ({exc}).") from None
    errors = sorted(_VALIDATOR.iter_errors(parsed), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{_data_path(e.absolute_path) or '.'} {e.message}" for e in errors]
        raise validation_failed("Schema validation error for results.json file.\n" + "\n".join(lines))
    _check_keys(parsed)
    return parsed


def read_results(out_dir: Path) -> dict[str, Any]:
    """Read `out/results.json` without following a link; blocking."""
    path = out_dir / RESULTS_FILE
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        if os.path.islink(path):
            raise JobError(f"Plug-in output rejected: {RESULTS_FILE} is a symbolic link.") from None
        raise validation_failed(f"cannot read results.json ({exc.strerror}).") from None
    with os.fdopen(fd, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise JobError(f"Plug-in output rejected: {RESULTS_FILE} is not a regular file.")
        if info.st_size > MAX_RESULTS_BYTES:
            raise validation_failed(f"results.json is larger than {MAX_RESULTS_BYTES // (1024 * 1024)} MiB.")
        return parse_results(stream.read(MAX_RESULTS_BYTES + 1))


async def wait_for_results(out_dir: Path, exit_code: int | None, timeout_s: float = RESULTS_WAIT_S) -> None:
    """Return once `out/results.json` exists (even as a link: read_results refuses it), else fail."""
    path = out_dir / RESULTS_FILE
    deadline = time.monotonic() + timeout_s
    while not os.path.lexists(path):
        if time.monotonic() >= deadline:
            code = "" if exit_code is None else f" with code {exit_code}"
            raise JobError(f"The plug-in exited{code} without writing results.json.")
        await asyncio.sleep(0.1)


def relative_parts(relative: str) -> list[str]:
    """The components of a relative output path; refuses `..`, absolute paths and empty parts."""
    parts = relative.split("/")
    if relative.startswith("/") or any(part in ("", ".", "..") or "\x00" in part for part in parts):
        raise JobError(f"Plug-in output rejected: {relative!r} is not a plain relative path.")
    return parts


def _scan(out_dir: Path) -> list[tuple[str, bool]]:
    """Every entry under out/ as (relative path, is_dir), parents first; refuses links and specials."""
    found: list[tuple[str, bool]] = []
    pending: list[tuple[Path, str, int]] = [(out_dir, "", 0)]
    while pending:
        folder, prefix, depth = pending.pop()
        if depth > MAX_OUTPUT_DEPTH:
            raise JobError(f"Plug-in output rejected: folders nested deeper than {MAX_OUTPUT_DEPTH} levels.")
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                relative = prefix + entry.name
                relative_parts(relative)
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    raise JobError(f"Plug-in output rejected: {relative} is a symbolic link.")
                if stat.S_ISDIR(mode):
                    found.append((relative, True))
                    pending.append((Path(entry.path), relative + "/", depth + 1))
                elif stat.S_ISREG(mode):
                    found.append((relative, False))
                else:
                    raise JobError(f"Plug-in output rejected: {relative} is not a regular file or folder.")
                if len(found) > MAX_OUTPUT_ENTRIES:
                    raise JobError(f"Plug-in output rejected: more than {MAX_OUTPUT_ENTRIES} files.")
    return found


def _copy_file(source: Path, target: Path) -> None:
    src_fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(src_fd, "rb") as src:
        if not stat.S_ISREG(os.fstat(src.fileno()).st_mode):
            raise JobError("Plug-in output rejected: a file changed while it was copied.")
        dst_fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o444)
        with os.fdopen(dst_fd, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    os.chmod(target, 0o444)  # whatever the umask


def copy_output(out_dir: Path, dest_dir: Path) -> list[str]:
    """Copy `out/` into `dest_dir` without following links; returns the copied relative paths.

    Everything is checked before anything is copied, so a rejected output leaves nothing behind.
    """
    entries = _scan(out_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    copied: list[str] = []
    folders: list[Path] = []
    for relative, is_dir in entries:
        if relative == LOG_FILE_NAME:
            continue  # the job log's name (CIRCUS lets the plug-in's file collide with it)
        target = dest_dir.joinpath(*relative_parts(relative))
        if is_dir:
            target.mkdir(mode=0o755)
            folders.append(target)
        else:
            _copy_file(out_dir.joinpath(*relative.split("/")), target)
        copied.append(relative)
    for folder in reversed(folders):  # deepest first, once they are filled
        os.chmod(folder, 0o555)
    return copied


async def collect_results(out_dir: Path, dest_dir: Path, exit_code: int | None) -> tuple[dict[str, Any], list[str]]:
    """Wait for, read and validate results.json, then copy `out/` to `dest_dir`."""
    await wait_for_results(out_dir, exit_code)
    results = await anyio.to_thread.run_sync(read_results, out_dir)
    copied = await anyio.to_thread.run_sync(copy_output, out_dir, dest_dir)
    return results, copied
