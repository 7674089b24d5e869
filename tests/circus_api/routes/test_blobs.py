"""`/api/blob/:hash`: SHA-1 verified uploads (plain and gzip), ranged and conditional downloads."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from circus_api.settings import Settings
from tests.circus_api.conftest import Api

OCTET = {"Content-Type": "application/octet-stream"}


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def stored_files(settings: Settings) -> list[Path]:
    return sorted(settings.blob_dir.iterdir()) if settings.blob_dir.exists() else []


def test_a_blob_is_stored_under_its_hash_and_served_back(api: Api, app_settings: Settings) -> None:
    data = os.urandom(5000)
    bob = api.as_user("bob")
    response = bob.put(f"/api/blob/{sha1(data)}", content=data, headers=OCTET)
    assert response.status_code == 201
    assert response.content == b""
    assert (app_settings.blob_dir / sha1(data)).read_bytes() == data

    got = bob.get(f"/api/blob/{sha1(data)}")
    assert got.status_code == 200
    assert got.content == data
    assert got.headers["etag"] == f'"{sha1(data)}"'
    assert got.headers["content-type"] == "application/octet-stream"
    assert got.headers["accept-ranges"] == "bytes"


def test_a_gzip_encoded_upload_is_stored_decompressed(api: Api, app_settings: Settings) -> None:
    data = b"\x00\xff" * 10000
    response = api.as_user("bob").put(
        f"/api/blob/{sha1(data)}", content=gzip.compress(data), headers={**OCTET, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 201
    assert (app_settings.blob_dir / sha1(data)).read_bytes() == data


def test_a_hash_mismatch_is_refused_and_leaves_nothing(api: Api, app_settings: Settings) -> None:
    response = api.as_user("bob").put(f"/api/blob/{sha1(b'other')}", content=b"data", headers=OCTET)
    assert response.status_code == 400
    assert response.json() == {"error": "Hash mismatch."}
    assert stored_files(app_settings) == []


@pytest.mark.parametrize(
    ("body", "encoding", "status", "message"),
    [
        (b"", None, 400, "Empty content was sent."),
        (gzip.compress(b"abc")[:-6], "gzip", 400, "The gzip-encoded body is truncated."),
        (b"not gzip at all", "gzip", 400, "The gzip-encoded body is corrupt."),
        (b"abc", "br", 415, "Unsupported Content-Encoding: br"),
    ],
)
def test_bad_uploads_are_refused_and_leave_nothing(
    api: Api, app_settings: Settings, body: bytes, encoding: str | None, status: int, message: str
) -> None:
    headers = {**OCTET, **({"Content-Encoding": encoding} if encoding else {})}
    response = api.as_user("bob").put(f"/api/blob/{sha1(b'abc')}", content=body, headers=headers)
    assert response.status_code == status
    assert response.json() == {"error": message}
    assert stored_files(app_settings) == []


def test_a_gzip_bomb_is_refused_once_it_expands_past_the_limit(api: Api, app_settings: Settings) -> None:
    big = bytes(21 * 1024 * 1024)
    response = api.as_user("bob").put(
        f"/api/blob/{sha1(big)}", content=gzip.compress(big), headers={**OCTET, "Content-Encoding": "gzip"}
    )
    assert response.status_code == 413
    assert stored_files(app_settings) == []


def test_malformed_hashes_are_400_and_unknown_ones_404(api: Api) -> None:
    bob = api.as_user("bob")
    for bad in ("ABCDEF" + "0" * 34, "0" * 39, "0" * 41, "%2E%2E%00"):
        assert bob.get(f"/api/blob/{bad}").status_code == 400
        assert bob.put(f"/api/blob/{bad}", content=b"x", headers=OCTET).status_code == 400
    assert bob.get("/api/blob/..%2F..%2Fetc%2Fpasswd").status_code == 404  # no route has slashes in a hash
    response = bob.get(f"/api/blob/{'0' * 40}")
    assert response.status_code == 404
    assert response.json() == {"error": "The requested blob was not found."}


def test_uploads_need_the_octet_stream_content_type(api: Api) -> None:
    response = api.as_user("bob").put(f"/api/blob/{sha1(b'x')}", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert api.as_user(None).put(f"/api/blob/{sha1(b'x')}", content=b"x", headers=OCTET).status_code == 401


def test_ranges_and_conditional_requests(api: Api) -> None:
    data = bytes(range(256)) * 4
    bob = api.as_user("bob")
    bob.put(f"/api/blob/{sha1(data)}", content=data, headers=OCTET)
    url = f"/api/blob/{sha1(data)}"

    part = bob.get(url, headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert bob.get(url, headers={"Range": "bytes=-4"}).content == data[-4:]
    assert bob.get(url, headers={"Range": "bytes=1000-"}).content == data[1000:]
    assert bob.get(url, headers={"Range": "bytes=5000-"}).status_code == 416
    assert bob.get(url, headers={"Range": "lines=1-2"}).status_code == 200  # malformed ranges are ignored

    not_modified = bob.get(url, headers={"If-None-Match": f'"{sha1(data)}"'})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert bob.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_reuploading_an_existing_blob_is_accepted(api: Api, app_settings: Settings) -> None:
    data = b"same bytes"
    bob = api.as_user("bob")
    assert bob.put(f"/api/blob/{sha1(data)}", content=data, headers=OCTET).status_code == 201
    assert bob.put(f"/api/blob/{sha1(data)}", content=data, headers=OCTET).status_code == 201
    assert [p.name for p in stored_files(app_settings)] == [sha1(data)]
