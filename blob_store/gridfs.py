"""Blobs in a GridFS bucket, filename = SHA-1: for deployments without a shared label directory."""

from __future__ import annotations

import secrets
from collections.abc import AsyncGenerator, AsyncIterable
from typing import Any

import anyio
from bson import ObjectId
from gridfs import AsyncGridFSBucket, NoFile
from gridfs.asynchronous.grid_file import AsyncGridOut
from pymongo import DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from blob_store.base import BlobNotFound, check_range, consume_verified, require_valid_hash

# Leading dot: never a valid hash, so an unfinished upload is invisible to every lookup.
TEMP_PREFIX = ".tmp-"

# Concurrent puts of one blob may both commit; any copy is complete (GridFS writes the files
# document only after the last chunk), so lookups take the newest and delete removes all.
_NEWEST_FIRST = [("uploadDate", DESCENDING), ("_id", DESCENDING)]


class GridFSBlobStore:
    """Blob store on a GridFS bucket (`<bucket>.files` / `<bucket>.chunks`)."""

    def __init__(self, db: AsyncDatabase[Any], bucket_name: str = "blobs") -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=bucket_name)
        self._files = db[f"{bucket_name}.files"]

    async def exists(self, blob_hash: str) -> bool:
        require_valid_hash(blob_hash)
        return await self._files.find_one({"filename": blob_hash}, {"_id": 1}) is not None

    async def size(self, blob_hash: str) -> int | None:
        require_valid_hash(blob_hash)
        doc = await self._files.find_one({"filename": blob_hash}, {"length": 1}, sort=_NEWEST_FIRST)
        return None if doc is None else int(doc["length"])

    async def open(
        self, blob_hash: str, start: int = 0, end: int | None = None
    ) -> AsyncGenerator[bytes, None]:
        require_valid_hash(blob_hash)
        check_range(start, end)
        found = await self._bucket.find({"filename": blob_hash}, sort=_NEWEST_FIRST, limit=1).to_list()
        if not found:
            raise BlobNotFound(blob_hash)
        return _read_chunks(found[0], start, end)

    async def put(self, expected_hash: str, chunks: AsyncIterable[bytes], max_bytes: int | None) -> bool:
        require_valid_hash(expected_hash)
        if await self.exists(expected_hash):
            # Content-addressed: same hash, same bytes. Verify so callers see the same errors, skip the write.
            await consume_verified(expected_hash, chunks, max_bytes)
            return False
        file_id = ObjectId()
        # pymongo buffers chunks until close (up to 48 MB), so a put holds about the blob in memory;
        # bounded by max_bytes (20 MB for PUT /blob), which is why the stock GridIn is good enough.
        upload = self._bucket.open_upload_stream_with_id(file_id, f"{TEMP_PREFIX}{secrets.token_hex(8)}")
        try:
            await consume_verified(expected_hash, chunks, max_bytes, upload.write)
            await upload.close()
            # Re-check: a concurrent put may have committed meanwhile; one copy is enough.
            duplicate = await self.exists(expected_hash)
            if not duplicate:
                # The rename is the commit: one atomic update makes the verified file visible.
                await self._bucket.rename(file_id, expected_hash)
        except BaseException:
            # Shielded: a cancelled upload (client gone) must still remove its chunks.
            with anyio.CancelScope(shield=True):
                await upload.abort()
            raise
        if duplicate:
            await upload.abort()
            return False
        return True

    async def delete(self, blob_hash: str) -> bool:
        require_valid_hash(blob_hash)
        try:
            await self._bucket.delete_by_name(blob_hash)  # every copy, see _NEWEST_FIRST
        except NoFile:
            return False
        return True


async def _read_chunks(grid_out: AsyncGridOut, start: int, end: int | None) -> AsyncGenerator[bytes, None]:
    try:
        stop = grid_out.length if end is None else min(end, grid_out.length)
        position = await grid_out.seek(start)
        while position < stop:
            # readchunk returns the rest of the current GridFS chunk (255 KiB by default).
            chunk = await grid_out.readchunk()
            if not chunk:
                return
            chunk = chunk[: stop - position]
            position += len(chunk)
            yield chunk
    finally:
        # Shielded so the chunk cursor is released even when the reader was cancelled.
        with anyio.CancelScope(shield=True):
            await grid_out.close()
