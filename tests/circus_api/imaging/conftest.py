"""Fixtures of the imaging tests: the CIRCUS fixture files and temporary repositories."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.circus_api.imaging.fixture_files import FIXTURE_DICOM, fixture_files, import_files


@pytest.fixture(scope="session")
def fixture_dicom() -> Path:
    assert FIXTURE_DICOM.is_dir(), f"CIRCUS fixture files missing: {FIXTURE_DICOM}"
    return FIXTURE_DICOM


@pytest.fixture
def repository(tmp_path: Path) -> Path:
    """An empty DICOM repository root."""
    root = tmp_path / "dicom"
    root.mkdir()
    return root


@pytest.fixture
def fixture_repository(repository: Path, fixture_dicom: Path) -> Path:
    """A repository holding the head-first and foot-first series (images 1..10 each)."""
    import_files(repository, fixture_files("head-first") + fixture_files("foot-first"))
    return repository
