"""Reading DICOM with pydicom, tolerant of the legacy values real archives contain.

pydicom validates values as they are converted and warns (and logs) on e.g. UIDs with leading
zeros, which CIRCUS's own test files have. Import must accept such files silently, so value
validation is switched off while imaging code works with datasets. The switch is process-wide
in pydicom; a reference count makes overlapping uses from several threads restore it only
when the last one ends.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pydicom
from pydicom import config
from pydicom.dataset import Dataset

from circus_api.imaging.errors import DicomReadError

_lock = threading.Lock()
_users = 0
_saved_modes: tuple[int, int] = (config.WARN, config.WARN)


@contextmanager
def lenient_values() -> Iterator[None]:
    """Disable pydicom's value validation (reading and writing) for the duration."""
    global _users, _saved_modes
    with _lock:
        if _users == 0:
            _saved_modes = (config.settings.reading_validation_mode, config.settings.writing_validation_mode)
            config.settings.reading_validation_mode = config.IGNORE
            config.settings.writing_validation_mode = config.IGNORE
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                config.settings.reading_validation_mode, config.settings.writing_validation_mode = _saved_modes


def has_dicm_prefix(head: bytes) -> bool:
    """A DICOM Part 10 file: 128-byte preamble, then `DICM`."""
    return len(head) >= 132 and head[128:132] == b"DICM"


def read_dataset(source: bytes | Path | BinaryIO, *, stop_before_pixels: bool = False) -> Dataset:
    """Parse a Part 10 file. Call inside `lenient_values()`; values convert lazily.

    Raises DicomReadError when pydicom cannot parse it.
    """
    fp = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return pydicom.dcmread(fp, stop_before_pixels=stop_before_pixels)
    # pydicom raises a wide variety of exceptions on malformed input (struct.error, KeyError,
    # ValueError, InvalidDicomError, ...); all of them mean "not readable"
    except Exception as exc:
        raise DicomReadError(f"unreadable DICOM file: {exc}") from exc
