"""The DICOM repository on disk (spec 5.2 storage layout).

Layout: `<root>/<seriesUid>/<8-digit zero-padded image number>.dcm`, or with `use_hash`
`<root>/<sha256(uid)[0:2]>/<sha256(uid)[2:4]>/<seriesUid>/...`. A series' images are the file
names present. Every UID is validated before it names a folder, so no request value can
reach outside `root`.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from circus_api.imaging.errors import InvalidUidError

MAX_UID_LENGTH = 64
_UID = re.compile(r"[0-9]+(?:\.[0-9]+)+")
# at least 8 digits: numbers above 99,999,999 simply get longer names
_COPY_CHUNK = 1 << 20
_IMAGE_FILE = re.compile(r"([0-9]{8,})\.dcm")


def is_valid_uid(uid: object) -> bool:
    """Digits and dots, at least two components, none empty, at most 64 characters.

    Leading zeros in a component are tolerated: real archives (and CIRCUS's own test files)
    contain them.
    """
    return isinstance(uid, str) and len(uid) <= MAX_UID_LENGTH and _UID.fullmatch(uid) is not None


def check_uid(uid: object) -> str:
    if not is_valid_uid(uid):
        raise InvalidUidError(f"invalid DICOM UID: {uid!r}")
    assert isinstance(uid, str)  # is_valid_uid checked the type
    return uid


def series_dir(root: Path, series_uid: str, *, use_hash: bool = False) -> Path:
    uid = check_uid(series_uid)
    if use_hash:
        digest = hashlib.sha256(uid.encode("ascii")).hexdigest()
        return Path(root) / digest[0:2] / digest[2:4] / uid
    return Path(root) / uid


def image_file_name(image_number: int) -> str:
    if isinstance(image_number, bool) or not isinstance(image_number, int) or image_number < 0:
        raise ValueError(f"image numbers are non-negative integers, got {image_number!r}")
    return f"{image_number:08d}.dcm"


def image_path(root: Path, series_uid: str, image_number: int, *, use_hash: bool = False) -> Path:
    return series_dir(root, series_uid, use_hash=use_hash) / image_file_name(image_number)


def image_numbers(root: Path, series_uid: str, *, use_hash: bool = False) -> list[int]:
    """The image numbers stored for the series, ascending; [] when the series has no folder."""
    folder = series_dir(root, series_uid, use_hash=use_hash)
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return []
    return sorted(int(m.group(1)) for name in names if (m := _IMAGE_FILE.fullmatch(name)))


def read_image(root: Path, series_uid: str, image_number: int, *, use_hash: bool = False) -> bytes:
    """The stored file; FileNotFoundError when the image does not exist."""
    return image_path(root, series_uid, image_number, use_hash=use_hash).read_bytes()


def write_image(
    root: Path, series_uid: str, image_number: int, data: bytes, *, use_hash: bool = False,
    sync_folder: bool = True,
) -> Path:
    """Store one image atomically, replacing an existing file with the same number.

    The bytes go to a temporary file in the same folder, are fsynced, then renamed over the
    final name, so readers never see a half-written image and a crash leaves no partial file.
    `sync_folder=False` leaves making the rename durable to the caller (`sync_folders`), which
    can then do it once for many images.
    """
    target = _prepared_target(root, series_uid, image_number, use_hash)
    temp_name = _temporary_copy(target, lambda temp: temp.write(data))
    _replace(temp_name, target)
    if sync_folder:
        sync_folders([target.parent])
    return target


def move_image(
    root: Path, series_uid: str, image_number: int, source: Path, *, use_hash: bool = False,
    sync_folder: bool = True,
) -> Path:
    """Take the file `source` (a staged upload nobody else uses) into the repository as the image.

    Its data is fsynced, then it is renamed into place: no byte is copied. From another
    filesystem it is copied as `copy_image` does, and `source` stays where it was.
    """
    target = _prepared_target(root, series_uid, image_number, use_hash)
    _fsync(source)
    try:
        os.replace(source, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy_into_place(source, target)
    if sync_folder:
        sync_folders([target.parent])
    return target


def copy_image(
    root: Path, series_uid: str, image_number: int, source: Path, *, use_hash: bool = False,
    sync_folder: bool = True,
) -> Path:
    """Store a copy of the file `source` as the image, atomically as `write_image` does."""
    target = _prepared_target(root, series_uid, image_number, use_hash)
    _copy_into_place(source, target)
    if sync_folder:
        sync_folders([target.parent])
    return target


def _copy_into_place(source: Path, target: Path) -> None:
    with open(source, "rb") as fp:
        temp_name = _temporary_copy(target, lambda temp: shutil.copyfileobj(fp, temp, _COPY_CHUNK))
    _replace(temp_name, target)


def sync_folders(folders: Iterable[Path]) -> None:
    """Make the renames into these folders durable (one fsync per folder)."""
    for folder in folders:
        _fsync(folder)


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepared_target(root: Path, series_uid: str, image_number: int, use_hash: bool) -> Path:
    target = image_path(root, series_uid, image_number, use_hash=use_hash)
    target.parent.mkdir(parents=True, exist_ok=True)
    return target


def _temporary_copy(target: Path, fill: Callable[[BinaryIO], object]) -> str:
    """A fsynced temporary file beside `target`, filled by `fill`; removed if that fails."""
    # the dot prefix and .tmp suffix keep the temporary file out of image_numbers()
    fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as temp:
            fill(temp)
            temp.flush()
            os.fsync(temp.fileno())
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return temp_name


def _replace(temp_name: str, target: Path) -> None:
    try:
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def delete_series(root: Path, series_uid: str, *, use_hash: bool = False) -> bool:
    """Remove the series folder; False when there was nothing to remove."""
    folder = series_dir(root, series_uid, use_hash=use_hash)
    if not folder.is_dir():
        return False
    shutil.rmtree(folder)
    return True
