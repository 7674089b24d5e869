"""The package surface: hash helpers, the error tree and the factory."""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path
from typing import Any

import pytest
from pymongo.asynchronous.database import AsyncDatabase

import blob_store
from blob_store import (
    BlobNotFound,
    BlobStore,
    BlobStoreError,
    BlobTooLarge,
    DirectoryBlobStore,
    GridFSBlobStore,
    HashMismatch,
    InvalidHash,
    create_blob_store,
    is_valid_hash,
    require_valid_hash,
    sha1_hex,
)


def test_sha1_hex_is_the_lower_case_hex_sha1() -> None:
    assert sha1_hex(b"") == "da39a3ee5e6b4b0d3255bfef95601890afd80709"
    assert sha1_hex(b"abc") == hashlib.sha1(b"abc").hexdigest()


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709", True),
        ("DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", False),
        ("da39a3ee5e6b4b0d3255bfef95601890afd8070", False),
        ("da39a3ee5e6b4b0d3255bfef95601890afd807090", False),
        ("da39a3ee5e6b4b0d3255bfef95601890afd80709\n", False),
        ("../etc/passwd", False),
        ("", False),
        (None, False),
        (b"da39a3ee5e6b4b0d3255bfef95601890afd80709", False),
    ],
)
def test_only_40_lower_case_hex_characters_are_a_valid_hash(value: object, valid: bool) -> None:
    assert is_valid_hash(value) is valid


def test_require_valid_hash_returns_the_hash_or_raises_invalid_hash() -> None:
    assert require_valid_hash(sha1_hex(b"a")) == sha1_hex(b"a")
    with pytest.raises(InvalidHash, match="passwd"):
        require_valid_hash("../etc/passwd")


def test_every_error_is_a_blob_store_error() -> None:
    for error in (InvalidHash, BlobNotFound, HashMismatch, BlobTooLarge):
        assert issubclass(error, BlobStoreError)
        assert error.__doc__


def test_the_factory_builds_a_directory_store(tmp_path: Path) -> None:
    store = create_blob_store("directory", directory=tmp_path, db=None)

    assert isinstance(store, DirectoryBlobStore)
    assert isinstance(store, BlobStore)
    assert store.root == tmp_path


async def test_the_factory_builds_a_gridfs_store(db: AsyncDatabase[Any]) -> None:
    store = create_blob_store("gridfs", directory=None, db=db)

    assert isinstance(store, GridFSBlobStore)
    assert isinstance(store, BlobStore)


def test_the_factory_refuses_an_unknown_kind_naming_the_allowed_ones(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown blob store kind 's3'; allowed: 'directory', 'gridfs'"):
        create_blob_store("s3", directory=tmp_path, db=None)


def test_the_factory_refuses_a_kind_without_its_argument() -> None:
    with pytest.raises(ValueError, match="needs a directory"):
        create_blob_store("directory", directory=None, db=None)
    with pytest.raises(ValueError, match="needs a database"):
        create_blob_store("gridfs", directory=None, db=None)


def test_the_package_imports_nothing_from_circus_api() -> None:
    for module in ("blob_store", "blob_store.base", "blob_store.directory", "blob_store.gridfs"):
        source = Path(importlib.import_module(module).__file__ or "").read_text()
        assert "circus_api" not in source, module
    assert blob_store.__all__
