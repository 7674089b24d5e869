from __future__ import annotations

import threading
import warnings
from pathlib import Path

import pytest
from pydicom import config

from circus_api.imaging.dicom_reading import has_dicm_prefix, lenient_values, read_dataset
from circus_api.imaging.errors import DicomReadError


def test_leading_zero_uids_read_without_warnings(fixture_dicom: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with lenient_values():
            ds = read_dataset(fixture_dicom / "head-first001.dcm", stop_before_pixels=True)
            assert ds.StudyInstanceUID.endswith(".0001")


def test_lenient_values_restores_the_previous_modes_after_overlapping_uses() -> None:
    before = (config.settings.reading_validation_mode, config.settings.writing_validation_mode)
    inside = threading.Event()
    release = threading.Event()

    def other_thread() -> None:
        with lenient_values():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other_thread)
    with lenient_values():
        thread.start()
        assert inside.wait(5)
    # the other thread is still inside: validation stays off
    assert config.settings.reading_validation_mode == config.IGNORE
    release.set()
    thread.join(5)
    assert (config.settings.reading_validation_mode, config.settings.writing_validation_mode) == before


def test_unreadable_data_is_a_dicom_read_error() -> None:
    with pytest.raises(DicomReadError):
        read_dataset(b"\x00" * 16)


def test_dicm_prefix() -> None:
    assert has_dicm_prefix(b"\x00" * 128 + b"DICM")
    assert not has_dicm_prefix(b"\x00" * 128 + b"DIC")
    assert not has_dicm_prefix(b"\x00" * 128 + b"dicm")
