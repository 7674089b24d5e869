"""Voxel-label blobs over HTTP (spec 4.7): streamed uploads verified by SHA-1, ranged downloads.

Memory stays flat: the body is decompressed and hashed chunk by chunk on its way to the store.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from blob_store import BlobNotFound, BlobStore, BlobTooLarge, HashMismatch, is_valid_hash
from circus_api.errors import BadRequest, CircusError, NotFound, PayloadTooLarge, UnsupportedMediaType

MAX_BLOB_BYTES = 20 * 1024 * 1024  # after decompression (spec 4.7)
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(CircusError):
    """416: the requested byte range lies outside the blob."""

    status_code = 416


def check_hash(blob_hash: str) -> None:
    if not is_valid_hash(blob_hash):
        raise BadRequest("Invalid hash: a blob is named by 40 lower-case hexadecimal characters.")


class _EmptyBody(Exception):
    pass


async def _decoded(body: AsyncIterable[bytes], encoding: str) -> AsyncIterator[bytes]:
    """The body's bytes, gunzipped on the fly when sent with Content-Encoding gzip."""
    seen = 0
    if encoding in ("", "identity"):
        async for chunk in body:
            seen += len(chunk)
            yield chunk
    elif encoding in ("gzip", "x-gzip"):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        async for chunk in body:
            try:
                # bounded output per step, so a small bomb cannot expand in memory at once
                data = inflater.decompress(chunk, MAX_BLOB_BYTES + 1)
                while data:
                    seen += len(data)
                    yield data
                    data = inflater.decompress(inflater.unconsumed_tail, MAX_BLOB_BYTES + 1)
            except zlib.error:
                raise BadRequest("The gzip-encoded body is corrupt.") from None
        if not inflater.eof:
            raise BadRequest("The gzip-encoded body is truncated.")
    else:
        raise UnsupportedMediaType(f"Unsupported Content-Encoding: {encoding}")
    if seen == 0:
        raise _EmptyBody


async def store(blobs: BlobStore, blob_hash: str, body: AsyncIterable[bytes], content_encoding: str) -> None:
    check_hash(blob_hash)
    try:
        await blobs.put(blob_hash, _decoded(body, content_encoding.strip().lower()), MAX_BLOB_BYTES)
    except _EmptyBody:
        raise BadRequest("Empty content was sent.") from None
    except HashMismatch:
        raise BadRequest("Hash mismatch.") from None
    except BlobTooLarge:
        raise PayloadTooLarge(f"A blob may hold at most {MAX_BLOB_BYTES} bytes.") from None


@dataclass(frozen=True)
class BlobRead:
    chunks: AsyncIterator[bytes]
    size: int
    start: int
    end: int  # exclusive
    partial: bool


def parse_range(header: str | None, size: int) -> tuple[int, int, bool]:
    """(start, exclusive end, partial?) for a `Range` header; a malformed one is ignored (RFC 9110)."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or (not match.group(1) and not match.group(2)):
        return 0, size, False
    first, last = match.group(1), match.group(2)
    if not first:  # suffix range: the last N bytes
        start, end = max(size - int(last), 0), size
    else:
        start, end = int(first), min(int(last) + 1, size) if last else size
    if start >= size or start >= end:
        raise RangeNotSatisfiable(f"The requested range is not satisfiable (the blob has {size} bytes).")
    return start, end, True


async def read(
    blobs: BlobStore, blob_hash: str, range_header: str | None, if_none_match: str | None = None
) -> BlobRead | None:
    """The (ranged) content of a blob; None when the client's copy is current (304)."""
    check_hash(blob_hash)
    size = await blobs.size(blob_hash)
    if size is None:
        raise NotFound("The requested blob was not found.")
    if if_none_match and f'"{blob_hash}"' in [tag.strip() for tag in if_none_match.split(",")]:
        return None  # content-addressed: the same hash always names the same bytes
    start, end, partial = parse_range(range_header, size)
    try:
        chunks = await blobs.open(blob_hash, start, end)
    except BlobNotFound:
        raise NotFound("The requested blob was not found.") from None
    return BlobRead(chunks, size, start, end, partial)
