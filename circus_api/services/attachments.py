"""Result files of plug-in jobs: `<results dir>/<jobId>/...` (spec 4.10 #45-#46, plugins-and-jobs 8).

A requested path must stay inside the job's folder: `..`, absolute paths and symlinks leading
out are refused with CIRCUS's (misspelt) message. File system work runs in a worker thread.
"""

from __future__ import annotations

import mimetypes
import os
from functools import partial
from pathlib import Path

import anyio.to_thread

from circus_api.errors import BadRequest, NotFound

INVALID_PATH = "Invalid path prameter."  # sic: CIRCUS's message is part of the contract
FILE_NOT_FOUND = "File not found."
DEFAULT_TYPE = "application/octet-stream"


def _inside(root: str, path: str) -> bool:
    return path == root or path.startswith(root + os.sep)


def job_folder(results_dir: Path, job_id: str) -> Path | None:
    """`<results dir>/<jobId>`, or None for a (legacy) job ID that would address another folder."""
    if job_id in ("", ".", "..") or any(ch in job_id for ch in ("/", "\\", "\0")):
        return None
    return Path(os.path.abspath(results_dir)) / job_id


def _list_sync(results_dir: Path, job_id: str) -> list[str]:
    folder = job_folder(results_dir, job_id)
    if folder is None or not folder.is_dir():
        return []
    real_root = os.path.realpath(folder)
    found: list[str] = []
    # like CIRCUS's glob: files and directories, no dot-files; we also leave out symlinks that
    # lead outside (they could not be downloaded) and never descend through symlinked folders
    for current, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in [*dirs, *(f for f in files if not f.startswith("."))]:
            full = os.path.join(current, name)
            if os.path.islink(full) and not _inside(real_root, os.path.realpath(full)):
                continue
            found.append(os.path.relpath(full, folder).replace(os.sep, "/"))
    return sorted(found)


async def list_attachments(results_dir: Path, job_id: str) -> list[str]:
    """Every file and directory below the job's folder, relative and sorted; [] when absent."""
    return await anyio.to_thread.run_sync(partial(_list_sync, results_dir, job_id))


def content_type(name: str) -> str:
    """The MIME type for a file name's extension (`application/octet-stream` when unknown)."""
    guessed, _encoding = mimetypes.guess_type(name, strict=False)
    return guessed or DEFAULT_TYPE


def _resolve_sync(results_dir: Path, job_id: str, rel_path: str) -> Path:
    folder = job_folder(results_dir, job_id)
    if folder is None:
        raise NotFound(FILE_NOT_FOUND)
    if rel_path.startswith(("/", "\\")) or "\0" in rel_path:
        raise BadRequest(INVALID_PATH)
    candidate = os.path.normpath(os.path.join(folder, rel_path))
    if not _inside(str(folder), candidate):
        raise BadRequest(INVALID_PATH)
    if not os.path.lexists(candidate):
        raise NotFound(FILE_NOT_FOUND)
    # a symlink (of the file or of a folder on the way) must not lead out of the job folder
    if not _inside(os.path.realpath(folder), os.path.realpath(candidate)):
        raise BadRequest(INVALID_PATH)
    if not os.path.isfile(candidate):
        raise NotFound(FILE_NOT_FOUND)  # a folder, or a dangling link (CIRCUS: 500)
    return Path(candidate)


async def resolve_attachment(results_dir: Path, job_id: str, rel_path: str) -> tuple[Path, str]:
    """The file to stream for `<jobId>/<rel_path>` and its content type; 400 for a path leaving
    the job folder, 404 when there is no such file."""
    path = await anyio.to_thread.run_sync(partial(_resolve_sync, results_dir, job_id, rel_path))
    return path, content_type(path.name)
