"""Blobs as flat files `<root>/<sha1>`: the layout CIRCUS uses, so its label directories work as-is."""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import AsyncGenerator, AsyncIterable
from io import BufferedReader, BufferedWriter
from pathlib import Path

import anyio
from anyio.to_thread import run_sync

from blob_store.base import (
    CHUNK_SIZE,
    BlobNotFound,
    check_range,
    consume_verified,
    require_valid_hash,
)

# Leading dot: never a valid hash, so a crashed upload can't be served and is easy to sweep.
TEMP_PREFIX = ".tmp-"


class DirectoryBlobStore:
    """Blob store on a local directory; all file I/O runs in worker threads."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, blob_hash: str) -> Path:
        return self.root / require_valid_hash(blob_hash)

    async def exists(self, blob_hash: str) -> bool:
        path = self._path(blob_hash)
        return await run_sync(path.is_file)

    async def size(self, blob_hash: str) -> int | None:
        path = self._path(blob_hash)
        return await run_sync(_file_size, path)

    async def open(
        self, blob_hash: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        path = self._path(blob_hash)
        check_range(start, end)
        try:
            file = await run_sync(_open_at, path, start)
        except (FileNotFoundError, IsADirectoryError):
            raise BlobNotFound(blob_hash) from None
        return _read_chunks(file, None if end is None else end - start)

    async def put(self, expected_hash: str, chunks: AsyncIterable[bytes], max_bytes: int | None) -> bool:
        final = self._path(expected_hash)
        if await run_sync(final.is_file):
            # Content-addressed: same hash, same bytes. Verify so callers see the same errors, skip the write.
            await consume_verified(expected_hash, chunks, max_bytes)
            return False
        temp, file = await run_sync(self._create_temp)
        pending = bytearray()

        async def write(chunk: bytes) -> None:
            # Batch small network chunks into ~1 MiB writes to keep thread hops few.
            pending.extend(chunk)
            if len(pending) >= CHUNK_SIZE:
                await run_sync(file.write, pending)  # not cancellable, so clearing after it is safe
                pending.clear()

        try:
            await consume_verified(expected_hash, chunks, max_bytes, write)
            await run_sync(file.write, pending)
            await run_sync(_commit, file, temp, final)
        except BaseException:
            # Shielded: a cancelled upload (client gone) must still remove its temp file.
            with anyio.CancelScope(shield=True):
                await run_sync(_discard, file, temp)
            raise
        return True

    async def delete(self, blob_hash: str) -> bool:
        path = self._path(blob_hash)
        try:
            await run_sync(path.unlink)
        except FileNotFoundError:
            return False
        return True

    def _create_temp(self) -> tuple[Path, BufferedWriter]:
        # Same directory as the target, so the final os.replace is an atomic rename.
        self.root.mkdir(parents=True, exist_ok=True)
        temp = self.root / f"{TEMP_PREFIX}{secrets.token_hex(8)}"
        # "x" = O_EXCL: never reuse a file someone else created; mode follows the umask like CIRCUS.
        return temp, open(temp, "xb")  # closed by _commit or _discard


def _file_size(path: Path) -> int | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_size if stat.S_ISREG(info.st_mode) else None


def _open_at(path: Path, start: int) -> BufferedReader:
    file = open(path, "rb")  # noqa: SIM115 -- closed by _read_chunks
    try:
        file.seek(start)
    except BaseException:
        file.close()
        raise
    return file


async def _read_chunks(file: BufferedReader, remaining: int | None) -> AsyncGenerator[bytes, None]:
    try:
        while remaining is None or remaining > 0:
            size = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            chunk = await run_sync(file.read, size)
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
    finally:
        # Closing a read-only file never blocks, and no await here keeps generator finalisation simple.
        file.close()


def _commit(file: BufferedWriter, temp: Path, final: Path) -> None:
    # fsync before rename: after a crash the name points at complete bytes or at nothing.
    file.flush()
    os.fsync(file.fileno())
    file.close()
    os.replace(temp, final)
    _fsync_directory(final.parent)


def _fsync_directory(directory: Path) -> None:
    # Persists the rename itself; without it the new name can vanish on power loss.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _discard(file: BufferedWriter, temp: Path) -> None:
    # The write that failed already reported the problem; removing the file is what matters.
    with contextlib.suppress(OSError):
        file.close()
    temp.unlink(missing_ok=True)
