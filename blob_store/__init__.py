"""Content-addressed blob storage for voxel label data: a local directory or a GridFS bucket."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from blob_store.base import (
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    BlobTooLarge,
    HashMismatch,
    InvalidHash,
    is_valid_hash,
    require_valid_hash,
    sha1_hex,
)
from blob_store.directory import DirectoryBlobStore
from blob_store.gridfs import GridFSBlobStore

__all__ = [
    "BLOB_STORE_KINDS",
    "BlobNotFound",
    "BlobStore",
    "BlobStoreError",
    "BlobTooLarge",
    "DirectoryBlobStore",
    "GridFSBlobStore",
    "HashMismatch",
    "InvalidHash",
    "create_blob_store",
    "is_valid_hash",
    "require_valid_hash",
    "sha1_hex",
]

BLOB_STORE_KINDS = ("directory", "gridfs")


def create_blob_store(
    kind: str, *, directory: Path | None = None, db: AsyncDatabase[Any] | None = None
) -> BlobStore:
    """Build the configured back end; each kind needs its own argument (`directory` or `db`)."""
    if kind == "directory":
        if directory is None:
            raise ValueError("blob store kind 'directory' needs a directory")
        return DirectoryBlobStore(directory)
    if kind == "gridfs":
        if db is None:
            raise ValueError("blob store kind 'gridfs' needs a database")
        return GridFSBlobStore(db)
    allowed = ", ".join(repr(k) for k in BLOB_STORE_KINDS)
    raise ValueError(f"unknown blob store kind {kind!r}; allowed: {allowed}")
