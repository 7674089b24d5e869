"""Streaming tar.gz / zip writers: valid archives from chunked entries, refusals on size mismatch."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from circus_api.imaging import archives
from circus_api.imaging.archives import CHUNK_SIZE, Zeros, open_archive

LONG_NAME = "c" * 64 + "/vol000-label000.raw"  # over the 100 characters of a plain tar header


def entry_chunks() -> tuple[list[archives.Chunk], bytes]:
    """Several deflate chunks: random data, zero runs across and within chunk boundaries, a tail."""
    random = os.urandom(CHUNK_SIZE // 2)
    chunks: list[archives.Chunk] = [random, Zeros(3 * CHUNK_SIZE + 7), memoryview(b"abc"), bytes(CHUNK_SIZE),
                                    Zeros(5), b"x"]
    expected = random + bytes(3 * CHUNK_SIZE + 7) + b"abc" + bytes(CHUNK_SIZE) + bytes(5) + b"x"
    return chunks, expected


@pytest.mark.parametrize("compression_format", ["tgz", "zip"])
def test_entries_are_streamed_into_a_valid_archive(tmp_path: Path, compression_format: str) -> None:
    path = tmp_path / "out"
    chunks, expected = entry_chunks()
    writer = open_archive(path, compression_format)
    writer.add_bytes("case/data.json", b"{}")
    writer.add_stream(LONG_NAME, len(expected), iter(chunks))
    writer.add_bytes("case/empty", b"")
    writer.close()
    if compression_format == "tgz":
        assert path.stat().st_size < CHUNK_SIZE  # the zero runs compress to almost nothing
        subprocess.run(["gzip", "-t", str(path)], check=True)  # the reference tool checks CRC and length
        with tarfile.open(path, "r:gz") as tar:
            assert tar.getnames() == ["case/data.json", LONG_NAME, "case/empty"]
            member = tar.getmember(LONG_NAME)
            assert member.mode == 0o644 and member.isfile() and member.size == len(expected)
            assert tar.extractfile(member).read() == expected  # type: ignore[union-attr]
            assert tar.extractfile("case/data.json").read() == b"{}"  # type: ignore[union-attr]
    else:
        with zipfile.ZipFile(path) as archive:
            assert archive.namelist() == ["case/data.json", LONG_NAME, "case/empty"]
            assert archive.testzip() is None  # every CRC
            assert archive.read(LONG_NAME) == expected
            assert archive.getinfo(LONG_NAME).compress_type == zipfile.ZIP_DEFLATED
            assert archive.getinfo("case/data.json").external_attr >> 16 == 0o100644
        if shutil.which("unzip"):
            subprocess.run(["unzip", "-tq", str(path)], check=True, capture_output=True)


def test_the_tar_stream_ends_on_a_whole_record(tmp_path: Path) -> None:
    writer = open_archive(tmp_path / "out.tgz", "tgz")
    writer.add_bytes("a", b"x" * 700)
    writer.close()
    raw = subprocess.run(["gzip", "-dc", str(tmp_path / "out.tgz")], check=True, capture_output=True).stdout
    assert len(raw) % tarfile.RECORDSIZE == 0
    assert raw[-1024:] == bytes(1024)


def test_zip64_fields_appear_when_an_offset_passes_4_gib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # lower the limits instead of writing 4 GiB: the zip64 code paths are the same
    monkeypatch.setattr(archives, "_ZIP64_FROM", 100)
    monkeypatch.setattr(archives, "_ZIP64_LOCAL_FROM", 150)
    path = tmp_path / "out.zip"
    writer = open_archive(path, "zip")
    writer.add_bytes("first", os.urandom(200))  # incompressible: the next offset passes the limit
    writer.add_stream("second", 2000, [Zeros(2000)])  # zip64 local header; its offset passes the limit
    writer.close()
    raw = path.read_bytes()
    assert raw.count(struct.pack("<I", 0x06064B50)) == 1  # zip64 end of central directory
    assert raw.count(struct.pack("<I", 0x07064B50)) == 1  # and its locator
    local = raw.index(b"second") - 30
    assert struct.unpack_from("<H", raw, local + 4)[0] == 45
    assert struct.unpack_from("<II", raw, local + 18) == (0xFFFFFFFF, 0xFFFFFFFF)
    assert struct.unpack_from("<HHQ", raw, local + 30 + 6) == (1, 16, 2000)
    with zipfile.ZipFile(path) as archive:  # a zip64-aware reader finds both entries through the extras
        assert archive.read("second") == bytes(2000)
        assert archive.getinfo("second").header_offset > 100


@pytest.mark.parametrize("compression_format", ["tgz", "zip"])
@pytest.mark.parametrize("chunks", [[b"abc"], [b"abcdef"], [Zeros(6)]])
def test_an_entry_must_have_its_announced_size(
    tmp_path: Path, compression_format: str, chunks: list[archives.Chunk]
) -> None:
    writer = open_archive(tmp_path / "out", compression_format)
    with pytest.raises(ValueError, match="announced"):
        writer.add_stream("x.raw", 5, chunks)
    writer.abort()


def test_an_unknown_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown compression format"):
        open_archive(tmp_path / "out", "rar")
