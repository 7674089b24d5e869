"""One contract suite, run against every blob-store back end (directory on tmp_path, GridFS on SecantusDB)."""

from __future__ import annotations

import hashlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import (
    BlobNotFound,
    BlobStore,
    BlobTooLarge,
    DirectoryBlobStore,
    GridFSBlobStore,
    HashMismatch,
    InvalidHash,
    sha1_hex,
)

MIB = 1024 * 1024
GRIDFS_CHUNK = 255 * 1024  # pymongo's default GridFS chunk size, to test ranges across chunk borders


@dataclass
class Backend:
    store: BlobStore
    # Everything the back end holds (blob names, temp names, GridFS chunks), to prove nothing leaked.
    leftovers: Callable[[], Awaitable[list[str]]]


@pytest.fixture(params=["directory", "gridfs"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "directory":
        root = tmp_path / "labels"

        async def listing() -> list[str]:
            return sorted(p.name for p in root.iterdir()) if root.exists() else []

        return Backend(DirectoryBlobStore(root), listing)

    # Requested lazily so the directory variant runs without a database.
    db: AsyncDatabase[Any] = request.getfixturevalue("db")

    async def documents() -> list[str]:
        names = sorted([doc["filename"] async for doc in db["blobs.files"].find()])
        return names + ["<chunk>"] * await db["blobs.chunks"].count_documents({})

    return Backend(GridFSBlobStore(db), documents)


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def stream(data: bytes, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk_size):
        yield data[offset : offset + chunk_size]


async def read(store: BlobStore, blob_hash: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in await store.open(blob_hash, start, end)])


async def test_a_stored_blob_can_be_found_measured_and_read_back(backend: Backend) -> None:
    data = random_bytes(300_000)
    blob_hash = sha1_hex(data)

    assert await backend.store.put(blob_hash, stream(data), None) is True

    assert await backend.store.exists(blob_hash) is True
    assert await backend.store.size(blob_hash) == len(data)
    assert await read(backend.store, blob_hash) == data
    assert [name for name in await backend.leftovers() if name != "<chunk>"] == [blob_hash]


async def test_an_empty_blob_is_a_blob_like_any_other(backend: Backend) -> None:
    empty_hash = sha1_hex(b"")

    assert await backend.store.put(empty_hash, stream(b""), 0) is True

    assert await backend.store.exists(empty_hash) is True
    assert await backend.store.size(empty_hash) == 0
    assert [chunk async for chunk in await backend.store.open(empty_hash)] == []
    assert await read(backend.store, empty_hash, 0, 10) == b""


async def test_an_absent_blob_does_not_exist_has_no_size_cannot_be_opened_or_deleted(
    backend: Backend,
) -> None:
    absent = sha1_hex(b"never stored")

    assert await backend.store.exists(absent) is False
    assert await backend.store.size(absent) is None
    with pytest.raises(BlobNotFound) as raised:
        await backend.store.open(absent)
    assert raised.value.blob_hash == absent
    assert await backend.store.delete(absent) is False


RANGE_DATA_SIZE = 2 * MIB + 300 * 1024 + 17
RANGES = [
    (0, None),
    (1, None),
    (0, 0),
    (0, 1),
    (GRIDFS_CHUNK - 3, GRIDFS_CHUNK + 5),
    (MIB - 1, MIB + 1),
    (100, 2 * MIB + 300),
    (RANGE_DATA_SIZE - 5, RANGE_DATA_SIZE),
    (RANGE_DATA_SIZE - 1, None),
    (10, RANGE_DATA_SIZE + 1000),  # end is clamped to the size
    (RANGE_DATA_SIZE, None),  # nothing left to read
    (RANGE_DATA_SIZE + 10, RANGE_DATA_SIZE + 20),
]


async def test_byte_ranges_read_like_slices_with_an_exclusive_end(backend: Backend) -> None:
    data = random_bytes(RANGE_DATA_SIZE)
    blob_hash = sha1_hex(data)
    await backend.store.put(blob_hash, stream(data), None)

    for start, end in RANGES:
        chunks = [chunk async for chunk in await backend.store.open(blob_hash, start, end)]
        assert b"".join(chunks) == data[start:end], (start, end)
        assert all(0 < len(chunk) <= MIB for chunk in chunks), (start, end)


@pytest.mark.parametrize(("start", "end"), [(-1, None), (5, 4)])
async def test_a_nonsensical_range_is_a_value_error(backend: Backend, start: int, end: int | None) -> None:
    blob_hash = sha1_hex(b"abc")
    await backend.store.put(blob_hash, stream(b"abc"), None)

    with pytest.raises(ValueError, match="range"):
        await backend.store.open(blob_hash, start, end)


async def test_a_hash_mismatch_stores_nothing_and_leaves_nothing_behind(backend: Backend) -> None:
    data = random_bytes(3 * MIB)  # several write batches and GridFS chunks have hit storage
    claimed = sha1_hex(b"something else")

    with pytest.raises(HashMismatch) as raised:
        await backend.store.put(claimed, stream(data), None)

    assert (raised.value.expected, raised.value.actual) == (claimed, sha1_hex(data))
    assert await backend.store.exists(claimed) is False
    assert await backend.store.exists(sha1_hex(data)) is False
    assert await backend.leftovers() == []


async def test_a_blob_of_exactly_max_bytes_is_accepted(backend: Backend) -> None:
    data = random_bytes(1000)

    assert await backend.store.put(sha1_hex(data), stream(data, 100), 1000) is True


async def test_a_stream_past_max_bytes_is_refused_without_reading_it_all_and_leaves_nothing(
    backend: Backend,
) -> None:
    consumed = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal consumed
        while True:
            consumed += 64 * 1024
            yield b"x" * (64 * 1024)

    with pytest.raises(BlobTooLarge) as raised:
        await backend.store.put(sha1_hex(b"anything"), endless(), 3 * MIB)

    assert raised.value.max_bytes == 3 * MIB
    assert consumed == 3 * MIB + 64 * 1024  # stopped at the first chunk past the limit
    assert await backend.leftovers() == []


async def test_a_failing_upload_stream_propagates_its_error_and_leaves_nothing(backend: Backend) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield random_bytes(2 * MIB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await backend.store.put(sha1_hex(b"anything"), broken(), None)

    assert await backend.leftovers() == []


async def test_a_cancelled_upload_leaves_nothing(backend: Backend) -> None:
    async def stalled() -> AsyncIterator[bytes]:
        yield random_bytes(2 * MIB)
        await anyio.sleep_forever()
        yield b""  # pragma: no cover (makes this an async generator for the type checker)

    with anyio.move_on_after(0.5) as scope:
        await backend.store.put(sha1_hex(b"anything"), stalled(), None)

    assert scope.cancelled_caught
    assert await backend.leftovers() == []


async def test_putting_an_existing_blob_again_returns_false_and_keeps_the_content(backend: Backend) -> None:
    data = random_bytes(600_000)
    blob_hash = sha1_hex(data)
    await backend.store.put(blob_hash, stream(data), None)
    before = await backend.leftovers()

    assert await backend.store.put(blob_hash, stream(data, 4096), None) is False

    assert await read(backend.store, blob_hash) == data
    assert await backend.leftovers() == before


async def test_putting_an_existing_blob_still_verifies_the_stream(backend: Backend) -> None:
    data = random_bytes(10_000)
    blob_hash = sha1_hex(data)
    await backend.store.put(blob_hash, stream(data), None)
    before = await backend.leftovers()

    with pytest.raises(HashMismatch):
        await backend.store.put(blob_hash, stream(b"other bytes"), None)
    with pytest.raises(BlobTooLarge):
        await backend.store.put(blob_hash, stream(data), 9_999)

    assert await read(backend.store, blob_hash) == data
    assert await backend.leftovers() == before


async def test_concurrent_puts_of_one_blob_all_succeed_and_delete_removes_every_copy(
    backend: Backend,
) -> None:
    data = random_bytes(700_000)
    blob_hash = sha1_hex(data)
    results: list[bool] = []

    async def put() -> None:
        results.append(await backend.store.put(blob_hash, stream(data), None))

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(put)

    assert True in results
    assert await read(backend.store, blob_hash) == data
    assert await backend.store.delete(blob_hash) is True
    assert await backend.store.exists(blob_hash) is False
    assert await backend.leftovers() == []


async def test_delete_removes_the_blob_and_only_that_blob(backend: Backend) -> None:
    kept, deleted = b"kept", b"deleted"
    await backend.store.put(sha1_hex(kept), stream(kept), None)
    await backend.store.put(sha1_hex(deleted), stream(deleted), None)

    assert await backend.store.delete(sha1_hex(deleted)) is True

    assert await backend.store.exists(sha1_hex(deleted)) is False
    assert await backend.store.delete(sha1_hex(deleted)) is False
    assert await read(backend.store, sha1_hex(kept)) == kept


VALID = sha1_hex(b"valid")
INVALID_HASHES = [
    "../etc/passwd",
    VALID.upper(),
    VALID[:39],
    VALID + "0",
    VALID + "\n",
    "",
    "g" * 40,
    "../" + VALID[3:],
]


@pytest.mark.parametrize("bad_hash", INVALID_HASHES)
async def test_every_method_rejects_an_invalid_hash_before_touching_storage(
    backend: Backend, bad_hash: str
) -> None:
    consumed = False

    async def upload() -> AsyncIterator[bytes]:
        nonlocal consumed
        consumed = True
        yield b"valid"

    with pytest.raises(InvalidHash):
        await backend.store.exists(bad_hash)
    with pytest.raises(InvalidHash):
        await backend.store.size(bad_hash)
    with pytest.raises(InvalidHash):
        await backend.store.open(bad_hash)
    with pytest.raises(InvalidHash):
        await backend.store.put(bad_hash, upload(), None)
    with pytest.raises(InvalidHash):
        await backend.store.delete(bad_hash)

    assert consumed is False
    assert await backend.leftovers() == []


async def test_a_30_mb_blob_streams_in_and_out_in_chunks(backend: Backend) -> None:
    block = random_bytes(MIB)
    count = 30
    expected = hashlib.sha1(usedforsecurity=False)
    for i in range(count):
        expected.update(i.to_bytes(4) + block[4:])
    blob_hash = expected.hexdigest()

    async def upload() -> AsyncIterator[bytes]:
        # Generated on the fly: the test itself never holds the whole blob either.
        for i in range(count):
            yield i.to_bytes(4) + block[4:]

    assert await backend.store.put(blob_hash, upload(), 30 * MIB) is True
    assert await backend.store.size(blob_hash) == count * MIB

    actual = hashlib.sha1(usedforsecurity=False)
    largest = 0
    async for chunk in await backend.store.open(blob_hash):
        actual.update(chunk)
        largest = max(largest, len(chunk))
    assert actual.hexdigest() == blob_hash
    assert largest <= MIB
