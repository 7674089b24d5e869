from __future__ import annotations

import gzip
import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from circus_api.imaging.upload_archive import (
    EntryKind,
    UploadEntry,
    UploadLimits,
    iter_upload_entries,
    unsafe_name_reason,
)
from tests.circus_api.imaging.fixture_files import FIXTURE_DICOM


def summary(entries: list[UploadEntry]) -> list[tuple[str, str, str | None]]:
    return [(e.name, e.kind.value, e.reason) for e in entries]


def zip_of(members: dict[str, bytes], *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def tar_gz_of(members: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            archive.addfile(info)
    return out.getvalue()


@pytest.fixture(scope="module")
def dicom_bytes() -> bytes:
    return (FIXTURE_DICOM / "head-first001.dcm").read_bytes()


def test_circus_test_zip_yields_its_one_dicom_file(fixture_dicom: Path) -> None:
    entries = list(iter_upload_entries("test.zip", fixture_dicom / "test.zip"))
    assert summary(entries) == [("CT-MONO2-16-brain.dcm", "dicom", None)]
    assert entries[0].data == (fixture_dicom / "CT-MONO2-16-brain.dcm").read_bytes()


def test_a_single_dicom_file_is_its_own_entry(fixture_dicom: Path) -> None:
    data = (fixture_dicom / "head-first001.dcm").read_bytes()
    for source in (data, io.BytesIO(data), fixture_dicom / "head-first001.dcm"):
        entries = list(iter_upload_entries("upload.bin", source))
        assert summary(entries) == [("upload.bin", "dicom", None)]
        assert entries[0].data == data


def test_a_single_non_dicom_file_is_skipped() -> None:
    assert summary(list(iter_upload_entries("notes.txt", b"hello"))) == [("notes.txt", "skipped", "not a DICOM file")]


def test_zip_members_in_sub_folders_are_walked(dicom_bytes: bytes) -> None:
    data = zip_of({"study/series/": b"", "study/series/0001.dcm": dicom_bytes, "study/README": b"readme",
                   "__MACOSX/study/._0001.dcm": b"\x00\x05\x16\x07"})
    assert summary(list(iter_upload_entries("upload.zip", data))) == [
        ("study/series/0001.dcm", "dicom", None),
        ("study/README", "skipped", "not a DICOM file"),
        ("__MACOSX/study/._0001.dcm", "skipped", "not a DICOM file"),
    ]


def test_detection_uses_the_content_not_the_name(dicom_bytes: bytes) -> None:
    entries = list(iter_upload_entries("misleading.dcm", zip_of({"a.dcm": dicom_bytes})))
    assert summary(entries) == [("a.dcm", "dicom", None)]
    stored = zip_of({"a.dcm": dicom_bytes}, compression=zipfile.ZIP_STORED)
    assert summary(list(iter_upload_entries("x", stored))) == [("a.dcm", "dicom", None)]


def test_unsafe_zip_members_are_rejected_and_the_rest_kept(dicom_bytes: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("../evil.dcm", dicom_bytes)
        archive.writestr("ok/../../evil2.dcm", dicom_bytes)
        archive.writestr("/etc/evil.dcm", dicom_bytes)
        archive.writestr("..\\windows.dcm", dicom_bytes)
        link = zipfile.ZipInfo("link.dcm")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
        archive.writestr("good.dcm", dicom_bytes)
    assert summary(list(iter_upload_entries("upload.zip", out.getvalue()))) == [
        ("../evil.dcm", "rejected", "path with '..'"),
        ("ok/../../evil2.dcm", "rejected", "path with '..'"),
        ("/etc/evil.dcm", "rejected", "absolute path"),
        ("..\\windows.dcm", "rejected", "path with '..'"),
        ("link.dcm", "rejected", "symbolic link"),
        ("good.dcm", "dicom", None),
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [("a/b.dcm", None), ("a..b.dcm", None), ("../a", "path with '..'"), ("a/../../b", "path with '..'"),
     ("/a", "absolute path"), ("\\a", "absolute path"), ("C:\\a", "absolute path"), ("c:/a", "absolute path")],
)
def test_unsafe_name_reason(name: str, reason: str | None) -> None:
    assert unsafe_name_reason(name) == reason


def test_a_zip_bomb_stops_at_the_expanded_size_limit() -> None:
    bomb = zip_of({"zeros1.dcm": bytes(5_000_000), "zeros2.dcm": bytes(5_000_000), "after.txt": b"x"})
    assert len(bomb) < 20_000
    entries = list(iter_upload_entries("bomb.zip", bomb, UploadLimits(max_total_bytes=6_000_000)))
    assert summary(entries) == [
        ("zeros1.dcm", "skipped", "not a DICOM file"),
        ("zeros2.dcm", "rejected", "the upload expands beyond 6000000 bytes"),
    ]


def test_a_zip_member_with_a_forged_size_is_rejected() -> None:
    data = bytearray(zip_of({"big.txt": bytes(100_000)}, compression=zipfile.ZIP_DEFLATED))
    # declare 10 bytes for 100 kB: the member must not come through
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    entries = list(iter_upload_entries("forged.zip", bytes(data), UploadLimits(max_total_bytes=50_000)))
    assert len(entries) == 1
    assert entries[0].kind is EntryKind.REJECTED


def test_too_many_members_is_one_rejection() -> None:
    data = zip_of({f"{n}.txt": b"x" for n in range(5)})
    entries = list(iter_upload_entries("many.zip", data, UploadLimits(max_members=3)))
    assert summary(entries) == [("many.zip", "rejected", "the archive holds more than 3 files")]
    assert len(list(iter_upload_entries("many.zip", data, UploadLimits(max_members=5)))) == 5


def test_a_truncated_zip_is_a_rejection_not_an_exception(fixture_dicom: Path) -> None:
    data = (fixture_dicom / "test.zip").read_bytes()
    entries = list(iter_upload_entries("test.zip", data[: len(data) // 2]))
    assert [(e.name, e.kind) for e in entries] == [("test.zip", EntryKind.REJECTED)]
    assert entries[0].reason is not None and entries[0].reason.startswith("truncated or corrupt zip archive")


def test_a_damaged_zip_member_is_rejected_alone(dicom_bytes: bytes) -> None:
    data = bytearray(zip_of({"a.dcm": dicom_bytes, "b.dcm": dicom_bytes}, compression=zipfile.ZIP_STORED))
    data[1000] ^= 0xFF  # inside a.dcm: its CRC no longer matches
    entries = list(iter_upload_entries("x.zip", bytes(data)))
    assert [(e.name, e.kind) for e in entries] == [("a.dcm", EntryKind.REJECTED), ("b.dcm", EntryKind.DICOM)]


def test_tar_gz_members_are_walked(dicom_bytes: bytes) -> None:
    data = tar_gz_of({"series/1.dcm": dicom_bytes, "series/2.dcm": dicom_bytes, "notes.txt": b"n"})
    entries = list(iter_upload_entries("upload.tgz", data))
    assert summary(entries) == [
        ("series/1.dcm", "dicom", None),
        ("series/2.dcm", "dicom", None),
        ("notes.txt", "skipped", "not a DICOM file"),
    ]
    assert entries[0].data == dicom_bytes


def test_unsafe_tar_members_are_rejected(dicom_bytes: bytes) -> None:
    data = tar_gz_of(
        {"../evil.dcm": dicom_bytes, "/abs.dcm": dicom_bytes, "ok.dcm": dicom_bytes},
        links={"link.dcm": "/etc/passwd"},
    )
    assert summary(list(iter_upload_entries("upload.tar.gz", data))) == [
        ("../evil.dcm", "rejected", "path with '..'"),
        ("/abs.dcm", "rejected", "absolute path"),
        ("ok.dcm", "dicom", None),
        ("link.dcm", "rejected", "link"),
    ]


def test_a_tar_gz_bomb_stops_at_the_limit() -> None:
    data = tar_gz_of({"a.bin": bytes(3_000_000), "b.bin": bytes(3_000_000)})
    entries = list(iter_upload_entries("bomb.tgz", data, UploadLimits(max_total_bytes=4_000_000)))
    assert summary(entries) == [
        ("a.bin", "skipped", "not a DICOM file"),
        ("bomb.tgz", "rejected", "the upload expands beyond 4000000 bytes"),
    ]


def test_a_truncated_tar_gz_keeps_what_came_before_and_ends_with_a_rejection(dicom_bytes: bytes) -> None:
    data = tar_gz_of({"1.dcm": dicom_bytes, "2.dcm": bytes(range(256)) * 4000})
    entries = list(iter_upload_entries("cut.tgz", data[: len(data) - 2000]))
    assert entries[0].kind is EntryKind.DICOM
    assert entries[-1].kind is EntryKind.REJECTED
    assert entries[-1].reason is not None and "truncated or corrupt" in entries[-1].reason


def test_circus_archive_iterator_fixtures() -> None:
    etc = FIXTURE_DICOM.parent / "etc"
    assert summary(list(iter_upload_entries("abc.tar.gz", etc / "abc.tar.gz"))) == [
        ("a.txt", "skipped", "not a DICOM file"),
        ("b.txt", "skipped", "not a DICOM file"),
        ("c.txt", "skipped", "not a DICOM file"),
    ]
    # a plain gzip (not a tar): the one file inside it
    assert summary(list(iter_upload_entries("a.txt.gz", etc / "a.txt.gz"))) == [
        ("a.txt", "skipped", "not a DICOM file"),
    ]


def test_a_gzipped_dicom_file_is_imported(dicom_bytes: bytes) -> None:
    entries = list(iter_upload_entries("image.dcm.gz", gzip.compress(dicom_bytes)))
    assert summary(entries) == [("image.dcm", "dicom", None)]
    assert entries[0].data == dicom_bytes


def test_a_single_file_over_the_limit_is_rejected() -> None:
    entries = list(iter_upload_entries("big.bin", bytes(2000), UploadLimits(max_total_bytes=1000)))
    assert summary(entries) == [("big.bin", "rejected", "the upload expands beyond 1000 bytes")]
