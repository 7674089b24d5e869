from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from circus_api.imaging import dicom_files
from circus_api.imaging.dicom_files import (
    copy_image,
    delete_series,
    image_numbers,
    image_path,
    is_valid_uid,
    move_image,
    read_image,
    series_dir,
    write_image,
)
from circus_api.imaging.errors import InvalidUidError

UID = "1.2.840.113619.2.55.3"


@pytest.mark.parametrize(
    "uid",
    [
        "1.2",
        UID,
        "1.2.276.0.7230010.3.1.2.3289186935.22648.1590026998.0001",  # leading zeros: real data has them
        "1." + "2" * 62,
    ],
)
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)


@pytest.mark.parametrize(
    "uid",
    ["", "1", "1.", ".1", "1..2", "1.2.", "..", "../1.2", "1.2/3", "1.2\\3", "1.a", " 1.2", "1.2\n",
     "1." + "2" * 63, None, 1.2, b"1.2"],
)
def test_invalid_uids(uid: object) -> None:
    assert not is_valid_uid(uid)


@pytest.mark.parametrize("uid", ["..", "../../etc", "1.2/../../x", "/tmp", ""])
def test_a_uid_that_could_escape_the_root_never_names_a_folder(repository: Path, uid: str) -> None:
    for call in (
        lambda: series_dir(repository, uid),
        lambda: write_image(repository, uid, 1, b"x"),
        lambda: read_image(repository, uid, 1),
        lambda: image_numbers(repository, uid),
        lambda: delete_series(repository, uid),
    ):
        with pytest.raises(InvalidUidError):
            call()
    assert list(repository.iterdir()) == []


def test_invalid_uid_error_is_a_value_error() -> None:
    assert issubclass(InvalidUidError, ValueError)


def test_images_are_stored_under_eight_digit_names(repository: Path) -> None:
    path = write_image(repository, UID, 7, b"seven")
    assert path == repository / UID / "00000007.dcm"
    assert image_path(repository, UID, 123456789).name == "123456789.dcm"
    assert read_image(repository, UID, 7) == b"seven"


def test_an_existing_image_is_overwritten(repository: Path) -> None:
    write_image(repository, UID, 1, b"old")
    write_image(repository, UID, 1, b"new")
    assert read_image(repository, UID, 1) == b"new"
    assert sorted(p.name for p in (repository / UID).iterdir()) == ["00000001.dcm"]


def test_write_leaves_no_temporary_file(repository: Path) -> None:
    for number in (3, 1, 2):
        write_image(repository, UID, number, b"data")
    assert sorted(p.name for p in (repository / UID).iterdir()) == [
        "00000001.dcm", "00000002.dcm", "00000003.dcm",
    ]


def test_a_staged_file_is_moved_into_place_without_copying(repository: Path, tmp_path: Path) -> None:
    staged = tmp_path / "00001"
    staged.write_bytes(b"staged image")
    inode = staged.stat().st_ino
    path = move_image(repository, UID, 4, staged)
    assert path == repository / UID / "00000004.dcm"
    assert (path.read_bytes(), path.stat().st_ino) == (b"staged image", inode)
    assert not staged.exists()


def test_a_move_across_filesystems_falls_back_to_a_copy(
    repository: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = tmp_path / "00001"
    staged.write_bytes(b"on another disk")
    real_replace = dicom_files.os.replace

    def replace(source: object, target: object) -> None:
        if Path(str(source)) == staged:
            raise OSError(18, "Invalid cross-device link")  # EXDEV, as rename(2) reports it
        real_replace(source, target)  # type: ignore[arg-type]

    monkeypatch.setattr(dicom_files.os, "replace", replace)
    move_image(repository, UID, 1, staged)
    assert read_image(repository, UID, 1) == b"on another disk"
    assert staged.exists()  # copied, so the source stays (the staging folder is removed later)
    assert sorted(p.name for p in (repository / UID).iterdir()) == ["00000001.dcm"]


def test_a_copy_leaves_the_source_and_no_temporary_file(repository: Path, tmp_path: Path) -> None:
    source = tmp_path / "user-file.dcm"
    source.write_bytes(b"the user's own file")
    copy_image(repository, UID, 2, source)
    assert (read_image(repository, UID, 2), source.read_bytes()) == (b"the user's own file", b"the user's own file")
    assert sorted(p.name for p in (repository / UID).iterdir()) == ["00000002.dcm"]


def test_image_numbers_are_the_files_present(repository: Path) -> None:
    assert image_numbers(repository, UID) == []
    for number in (10, 2, 1, 150):
        write_image(repository, UID, number, b"x")
    (repository / UID / "notes.txt").write_text("ignored")
    (repository / UID / ".00000005.dcm.tmp").write_text("a temporary file")
    (repository / UID / "5.dcm").write_text("not the CIRCUS naming")
    assert image_numbers(repository, UID) == [1, 2, 10, 150]


@pytest.mark.parametrize("number", [-1, 1.0, True, "1"])
def test_image_numbers_must_be_non_negative_integers(repository: Path, number: object) -> None:
    with pytest.raises(ValueError):
        image_path(repository, UID, number)  # type: ignore[arg-type]


def test_reading_a_missing_image_is_file_not_found(repository: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_image(repository, UID, 1)


def test_delete_series(repository: Path) -> None:
    write_image(repository, UID, 1, b"x")
    assert delete_series(repository, UID) is True
    assert not (repository / UID).exists()
    assert delete_series(repository, UID) is False


def test_hash_layout(repository: Path) -> None:
    digest = hashlib.sha256(UID.encode()).hexdigest()
    path = write_image(repository, UID, 2, b"x", use_hash=True)
    assert path == repository / digest[:2] / digest[2:4] / UID / "00000002.dcm"
    assert image_numbers(repository, UID, use_hash=True) == [2]
    assert image_numbers(repository, UID) == []
    assert read_image(repository, UID, 2, use_hash=True) == b"x"
    assert delete_series(repository, UID, use_hash=True)
