"""CIRCUS's own test DICOM files (shared/data/circus-fixture/dicom, see its SOURCE.md)."""

from __future__ import annotations

from pathlib import Path

from circus_api.imaging.dicom_files import write_image
from circus_api.imaging.dicom_import import parse_dicom

# tests/circus_api/imaging/ -> the repository -> its sibling `shared`
FIXTURE_DICOM = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "circus-fixture" / "dicom"

HEAD_FIRST_UID = "1.2.276.0.7230010.3.1.3.3289186935.22648.1590026998.547"
FOOT_FIRST_UID = "1.2.276.0.7230010.3.1.3.3289186935.22648.1590026998.548"
STUDY_UID = "1.2.276.0.7230010.3.1.2.3289186935.22648.1590026998.0001"
BRAIN_UID = "2.16.840.1.113662.2.1.2519.21582.2990505.2105152.2381633.20"


def fixture_files(prefix: str) -> list[Path]:
    """`head-first` or `foot-first`: the 10 files in name order."""
    return [FIXTURE_DICOM / f"{prefix}{n:03d}.dcm" for n in range(1, 11)]


def import_files(root: Path, files: list[Path]) -> None:
    """What the upload endpoint does with each file, minus the database."""
    for path in files:
        parsed = parse_dicom(path)
        write_image(root, parsed.series_uid, parsed.instance_number, path.read_bytes())
