"""The blob-store contract: immutable bytes addressed by their SHA-1 (voxel labels, spec 4.7 and 5.1)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from typing import Protocol, TypeGuard, runtime_checkable

# Read/write granularity: big enough to amortise thread hops, small enough to keep memory flat.
CHUNK_SIZE = 1024 * 1024

_HASH_PATTERN = re.compile(r"[0-9a-f]{40}")


class BlobStoreError(Exception):
    """Base class of every error a blob store raises on purpose."""


class InvalidHash(BlobStoreError):
    """The key is not exactly 40 lower-case hexadecimal characters."""

    def __init__(self, value: object) -> None:
        # Truncated repr: the value may come straight from a URL and be arbitrarily long.
        super().__init__(f"invalid blob hash: {value!r:.60}")
        self.value = value


class BlobNotFound(BlobStoreError):
    """No blob is stored under this hash."""

    def __init__(self, blob_hash: str) -> None:
        super().__init__(f"blob not found: {blob_hash}")
        self.blob_hash = blob_hash


class HashMismatch(BlobStoreError):
    """The SHA-1 of the uploaded bytes differs from the hash they were uploaded under."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"hash mismatch: expected {expected}, got {actual}")
        self.expected = expected
        self.actual = actual


class BlobTooLarge(BlobStoreError):
    """The uploaded stream exceeded the allowed number of bytes."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"blob larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


def is_valid_hash(value: object) -> TypeGuard[str]:
    """True for exactly 40 lower-case hex characters, the only keys a store accepts."""
    # fullmatch, not match + "$": "$" would let a trailing newline through.
    return isinstance(value, str) and _HASH_PATTERN.fullmatch(value) is not None


def require_valid_hash(value: object) -> str:
    """Return `value` unchanged, or raise InvalidHash so a key can never escape the storage."""
    if not is_valid_hash(value):
        raise InvalidHash(value)
    return value


def sha1_hex(data: bytes) -> str:
    """Lower-case hex SHA-1 of `data`, the form blob keys take."""
    # SHA-1 names content here, it protects nothing; the flag keeps FIPS-mode Pythons working.
    return hashlib.sha1(data, usedforsecurity=False).hexdigest()


def check_range(start: int, end: int | None) -> None:
    """Reject byte ranges that make no sense; `end` is exclusive, like a slice."""
    if start < 0:
        raise ValueError(f"range start must be >= 0, got {start}")
    if end is not None and end < start:
        raise ValueError(f"range end ({end}) must be >= start ({start})")


async def consume_verified(
    expected_hash: str,
    chunks: AsyncIterable[bytes],
    max_bytes: int | None,
    write: Callable[[bytes], Awaitable[None]] | None = None,
) -> int:
    """Pass every chunk to `write` while hashing and counting; return the size if the SHA-1 matches.

    Raises BlobTooLarge as soon as the count passes `max_bytes` (the rest of the stream is not read)
    and HashMismatch at the end. Cleaning up what `write` produced is the caller's job.
    """
    digest = hashlib.sha1(usedforsecurity=False)
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise BlobTooLarge(max_bytes)
        # Hashing on the event loop is fine: SHA-1 runs at >1 GB/s here, under 1 ms per MiB chunk.
        digest.update(chunk)
        if write is not None:
            await write(chunk)
    actual = digest.hexdigest()
    if actual != expected_hash:
        raise HashMismatch(expected_hash, actual)
    return size


@runtime_checkable
class BlobStore(Protocol):
    """Content-addressed storage. Every method raises InvalidHash before touching the storage."""

    async def exists(self, blob_hash: str) -> bool:
        """Whether a complete blob is stored under `blob_hash`."""
        ...

    async def size(self, blob_hash: str) -> int | None:
        """The blob's length in bytes, or None when it is absent."""
        ...

    async def open(self, blob_hash: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Bytes `start` to `end` (exclusive, clamped to the size) as chunks of at most ~1 MiB.

        Awaiting `open` locates the blob, so BlobNotFound is raised before any byte is streamed
        (an HTTP layer can still answer 404). Iterate the result to the end or `aclose()` it.
        """
        ...

    async def put(self, expected_hash: str, chunks: AsyncIterable[bytes], max_bytes: int | None) -> bool:
        """Store the stream under `expected_hash` if its SHA-1 matches; True if it was written.

        Nothing becomes visible, and nothing is left behind, unless the whole stream was received
        and verified (HashMismatch, BlobTooLarge, or any error of the stream itself). When the blob
        already exists the stream is still verified but discarded, and False is returned.
        """
        ...

    async def delete(self, blob_hash: str) -> bool:
        """Remove the blob; False when there was nothing to remove."""
        ...
