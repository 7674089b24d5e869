"""Upload material for the DICOM import tests: CIRCUS's fixture files, archives, broken files."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pydicom

from circus_api.imaging.dicom_reading import lenient_values
from tests.circus_api.imaging.fixture_files import (
    FOOT_FIRST_UID,
    HEAD_FIRST_UID,
    STUDY_UID,
    fixture_files,
)

__all__ = ["FOOT_FIRST_UID", "HEAD_FIRST_UID", "STUDY_UID", "fixture_bytes", "fixture_files"]


def fixture_bytes(prefix: str, numbers: range | list[int] = range(1, 11)) -> dict[int, bytes]:
    """`head-first` / `foot-first` files by instance number (file N holds instance N)."""
    files = fixture_files(prefix)
    return {n: files[n - 1].read_bytes() for n in numbers}


def zip_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name), data, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def tar_gz_bytes(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return out.getvalue()


def zip_bomb(expanded_bytes: int) -> bytes:
    """A small zip whose one member inflates to `expanded_bytes` zeros."""
    return zip_bytes({"bomb.dcm": bytes(expanded_bytes)})


def without(data: bytes, *keywords: str) -> bytes:
    """The file re-saved without the given elements (e.g. `PixelData`, `SeriesInstanceUID`)."""
    with lenient_values():  # the fixture files hold UIDs with leading zeros
        ds = pydicom.dcmread(io.BytesIO(data))
        for keyword in keywords:
            delattr(ds, keyword)
        out = io.BytesIO()
        ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def truncated(data: bytes) -> bytes:
    """The file cut in the middle of its pixel data."""
    return data[: len(data) - 10_000]


def files_under(root: Path) -> list[Path]:
    """Every file below `root` (temporary ones included), for 'nothing half-written' checks."""
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
