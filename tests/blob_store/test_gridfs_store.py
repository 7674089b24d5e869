"""What only the GridFS back end promises: standard GridFS files named by their SHA-1, duplicates tolerated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from gridfs import AsyncGridFSBucket
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import GridFSBlobStore, sha1_hex


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def file_names(db: AsyncDatabase[Any], bucket: str = "blobs") -> list[str]:
    return sorted([doc["filename"] async for doc in db[f"{bucket}.files"].find()])


async def test_a_stored_blob_is_an_ordinary_gridfs_file_named_by_its_hash(db: AsyncDatabase[Any]) -> None:
    data = b"voxels" * 100_000

    await GridFSBlobStore(db).put(sha1_hex(data), once(data), None)

    download = await AsyncGridFSBucket(db, "blobs").open_download_stream_by_name(sha1_hex(data))
    assert await download.read() == data


async def test_the_bucket_name_is_configurable(db: AsyncDatabase[Any]) -> None:
    store = GridFSBlobStore(db, bucket_name="labels")

    await store.put(sha1_hex(b"x"), once(b"x"), None)

    assert await file_names(db, "labels") == [sha1_hex(b"x")]
    assert await file_names(db, "blobs") == []


async def test_duplicate_copies_are_served_and_delete_removes_them_all(db: AsyncDatabase[Any]) -> None:
    data = b"label" * 1000
    bucket = AsyncGridFSBucket(db, "blobs")
    for _ in range(2):
        await bucket.upload_from_stream(sha1_hex(data), data)
    store = GridFSBlobStore(db)

    assert await store.size(sha1_hex(data)) == len(data)
    assert b"".join([chunk async for chunk in await store.open(sha1_hex(data), 3, 4003)]) == data[3:4003]
    assert await store.delete(sha1_hex(data)) is True
    assert await file_names(db) == []
    assert await db["blobs.chunks"].count_documents({}) == 0


async def test_an_unfinished_upload_under_a_temporary_name_is_invisible(db: AsyncDatabase[Any]) -> None:
    # What a process killed between upload and rename leaves behind.
    await AsyncGridFSBucket(db, "blobs").upload_from_stream(".tmp-crashed", b"x")

    assert await GridFSBlobStore(db).exists(sha1_hex(b"x")) is False


async def test_a_blob_committed_by_a_concurrent_put_is_not_stored_twice(db: AsyncDatabase[Any]) -> None:
    data = b"same bytes"
    store = GridFSBlobStore(db)

    async def racing() -> AsyncIterator[bytes]:
        # Another request commits the same blob while this one is still streaming.
        await AsyncGridFSBucket(db, "blobs").upload_from_stream(sha1_hex(data), data)
        yield data

    assert await store.put(sha1_hex(data), racing(), None) is False

    assert await file_names(db) == [sha1_hex(data)]
    assert await db["blobs.chunks"].count_documents({}) == 1


async def test_a_failure_after_the_upload_is_written_removes_it(
    db: AsyncDatabase[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    store = GridFSBlobStore(db)

    async def failing_rename(*args: object) -> None:
        raise ConnectionError("lost the server")

    # pymongo writes the chunks and the files document on close; the commit (rename) fails after it.
    monkeypatch.setattr(AsyncGridFSBucket, "rename", failing_rename)
    with pytest.raises(ConnectionError):
        await store.put(sha1_hex(b"x" * 300_000), once(b"x" * 300_000), None)

    assert await file_names(db) == []
    assert await db["blobs.chunks"].count_documents({}) == 0
