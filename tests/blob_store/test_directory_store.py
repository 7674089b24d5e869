"""What only the directory back end promises: CIRCUS's flat `<dir>/<sha1>` layout."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from blob_store import DirectoryBlobStore, sha1_hex


async def once(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def test_a_label_file_written_by_circus_is_served_unchanged(tmp_path: Path) -> None:
    data = b"\x80\x00\xff" * 1000
    (tmp_path / sha1_hex(data)).write_bytes(data)
    store = DirectoryBlobStore(tmp_path)

    assert await store.exists(sha1_hex(data)) is True
    assert b"".join([chunk async for chunk in await store.open(sha1_hex(data))]) == data


async def test_put_writes_a_plain_file_named_by_the_hash_and_creates_the_directory(tmp_path: Path) -> None:
    root = tmp_path / "not" / "yet" / "there"
    data = b"voxels"

    assert await DirectoryBlobStore(root).put(sha1_hex(data), once(data), None) is True

    assert [p.name for p in root.iterdir()] == [sha1_hex(data)]
    assert (root / sha1_hex(data)).read_bytes() == data


async def test_a_directory_named_like_a_hash_is_not_a_blob(tmp_path: Path) -> None:
    blob_hash = sha1_hex(b"x")
    (tmp_path / blob_hash).mkdir()
    store = DirectoryBlobStore(tmp_path)

    assert await store.exists(blob_hash) is False
    assert await store.size(blob_hash) is None


async def test_a_blob_that_appears_during_an_upload_is_replaced_by_identical_bytes(tmp_path: Path) -> None:
    data = b"same bytes"
    store = DirectoryBlobStore(tmp_path)

    async def racing() -> AsyncIterator[bytes]:
        # Another request commits the same blob while this one is still streaming.
        (tmp_path / sha1_hex(data)).write_bytes(data)
        yield data

    assert await store.put(sha1_hex(data), racing(), None) is True
    assert sorted(p.name for p in tmp_path.iterdir()) == [sha1_hex(data)]
    assert (tmp_path / sha1_hex(data)).read_bytes() == data
