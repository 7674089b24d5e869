"""Walking an upload: a zip, a tar.gz (or a plain .gz) or a single file, safely.

The kind is detected from the first bytes, not the name. Every member comes out as an
`UploadEntry`: DICOM bytes to import, a non-DICOM member skipped (counted by the caller), or a
rejection with a reason. Unsafe members (`..`, absolute paths, links, devices) and limit
breaches (expanded size, member count) are rejections, never exceptions, and so is a truncated
or corrupt archive. Expanded sizes are counted as bytes are actually read, never taken from the
archive's own headers, which a zip bomb can forge.
"""

from __future__ import annotations

import enum
import gzip
import io
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from circus_api.imaging.dicom_reading import has_dicm_prefix

_CHUNK = 1 << 20
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x07\x08", b"PK\x05\x06")  # local header, spanned, empty archive
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class UploadLimits:
    max_total_bytes: int = 2 * 1024**3  # everything expanded from one upload
    max_members: int = 100_000


class EntryKind(enum.Enum):
    DICOM = "dicom"
    SKIPPED = "skipped"  # readable, but not a DICOM file
    REJECTED = "rejected"  # unsafe, over a limit, or unreadable


@dataclass(frozen=True)
class UploadEntry:
    name: str
    kind: EntryKind
    data: bytes | None = None  # set for DICOM entries only
    reason: str | None = None  # set for SKIPPED and REJECTED entries


class _Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class _LimitExceeded(Exception):
    pass


class _Budget:
    """Expanded bytes left for the whole upload."""

    def __init__(self, limits: UploadLimits) -> None:
        self.limits = limits
        self.left = limits.max_total_bytes

    def charge(self, size: int) -> None:
        self.left -= size
        if self.left < 0:
            raise _LimitExceeded(f"the upload expands beyond {self.limits.max_total_bytes} bytes")

    def read_all(self, stream: _Readable) -> bytes:
        chunks = []
        # reading one byte past the budget is enough to know it is exceeded
        while chunk := stream.read(min(_CHUNK, self.left + 1)):
            self.charge(len(chunk))
            chunks.append(chunk)
        return b"".join(chunks)


def iter_upload_entries(
    name: str, source: bytes | BinaryIO | Path, limits: UploadLimits | None = None
) -> Iterator[UploadEntry]:
    """Entries of one uploaded file; `source` must be seekable when it is a stream."""
    limits = limits or UploadLimits()
    if isinstance(source, Path):
        with open(source, "rb") as fp:
            yield from _iter_stream(name, fp, limits)
    else:
        yield from _iter_stream(name, io.BytesIO(source) if isinstance(source, bytes) else source, limits)


def _iter_stream(name: str, fp: BinaryIO, limits: UploadLimits) -> Iterator[UploadEntry]:
    head = fp.read(4)
    fp.seek(0)
    budget = _Budget(limits)
    if head.startswith(_ZIP_MAGICS):
        yield from _zip_entries(name, fp, budget)
    elif head.startswith(_GZIP_MAGIC):
        yield from _gzip_entries(name, fp, budget)
    else:
        try:
            yield _classified(name, budget.read_all(fp))
        except _LimitExceeded as exc:
            yield UploadEntry(name, EntryKind.REJECTED, reason=str(exc))


def _classified(name: str, data: bytes) -> UploadEntry:
    if has_dicm_prefix(data):
        return UploadEntry(name, EntryKind.DICOM, data=data)
    return UploadEntry(name, EntryKind.SKIPPED, reason="not a DICOM file")


def unsafe_name_reason(name: str) -> str | None:
    """Why a member name must not be used, or None. Backslashes count as separators."""
    path = name.replace("\\", "/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "absolute path"
    if ".." in PurePosixPath(path).parts:
        return "path with '..'"
    return None


def _zip_entries(name: str, fp: BinaryIO, budget: _Budget) -> Iterator[UploadEntry]:
    try:
        archive = zipfile.ZipFile(fp)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        yield UploadEntry(name, EntryKind.REJECTED, reason=f"truncated or corrupt zip archive ({exc})")
        return
    with archive:
        members = [info for info in archive.infolist() if not info.is_dir()]
        if len(members) > budget.limits.max_members:
            yield UploadEntry(name, EntryKind.REJECTED, reason=_too_many(budget.limits))
            return
        for info in members:
            mode = info.external_attr >> 16
            reason = unsafe_name_reason(info.filename)
            if reason is None and stat.S_ISLNK(mode):
                reason = "symbolic link"
            if reason is None and info.flag_bits & 0x1:
                reason = "encrypted member"
            if reason is not None:
                yield UploadEntry(info.filename, EntryKind.REJECTED, reason=reason)
                continue
            try:
                with archive.open(info) as member:
                    data = budget.read_all(member)
            except _LimitExceeded as exc:
                yield UploadEntry(info.filename, EntryKind.REJECTED, reason=str(exc))
                return
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError) as exc:
                # one damaged member (bad CRC, cut data, unknown method) does not spoil the others
                yield UploadEntry(info.filename, EntryKind.REJECTED, reason=f"unreadable member ({exc})")
                continue
            yield _classified(info.filename, data)


def _gzip_entries(name: str, fp: BinaryIO, budget: _Budget) -> Iterator[UploadEntry]:
    if not _holds_tar(fp):
        # a plain .gz: the one file inside it
        inner = name[:-3] if name.lower().endswith(".gz") else name
        try:
            with gzip.GzipFile(fileobj=fp) as unzipped:
                yield _classified(inner, budget.read_all(unzipped))
        except _LimitExceeded as exc:
            yield UploadEntry(inner, EntryKind.REJECTED, reason=str(exc))
        except (OSError, EOFError, zlib.error) as exc:
            yield UploadEntry(name, EntryKind.REJECTED, reason=f"truncated or corrupt gzip file ({exc})")
        return
    yield from _tar_entries(name, fp, budget)


def _holds_tar(fp: BinaryIO) -> bool:
    """Whether the first inflated block is a tar header with a valid checksum."""
    try:
        with gzip.GzipFile(fileobj=fp) as unzipped:
            block = unzipped.read(tarfile.BLOCKSIZE)
        tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
    except (OSError, EOFError, zlib.error, tarfile.HeaderError):
        return False
    finally:
        fp.seek(0)
    return True


def _tar_entries(name: str, fp: BinaryIO, budget: _Budget) -> Iterator[UploadEntry]:
    count = 0
    try:
        # stream mode: members are read in order, never by seeking back
        with tarfile.open(fileobj=fp, mode="r|gz") as archive:
            for info in archive:
                if info.isdir():
                    continue
                count += 1
                if count > budget.limits.max_members:
                    yield UploadEntry(name, EntryKind.REJECTED, reason=_too_many(budget.limits))
                    return
                reason = unsafe_name_reason(info.name)
                if reason is None and (info.issym() or info.islnk()):
                    reason = "link"
                if reason is None and not info.isfile():
                    reason = "not a regular file"
                if reason is None:
                    member = archive.extractfile(info)
                    assert member is not None  # regular files always have a stream
                    yield _classified(info.name, budget.read_all(member))
                else:
                    yield UploadEntry(info.name, EntryKind.REJECTED, reason=reason)
                    # the skipped data is still inflated; charge it to the budget
                    budget.charge(info.size)
    except _LimitExceeded as exc:
        yield UploadEntry(name, EntryKind.REJECTED, reason=str(exc))
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        yield UploadEntry(name, EntryKind.REJECTED, reason=f"truncated or corrupt tar.gz archive ({exc})")


def _too_many(limits: UploadLimits) -> str:
    return f"the archive holds more than {limits.max_members} files"
