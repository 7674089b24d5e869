"""`circus import-series`, `dump-dicom`, `refresh-series-parameters` against the test database."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from pymongo.database import Database

from tests.admin.conftest import CircusCli
from tests.circus_api.dicom_uploads import (
    FOOT_FIRST_UID,
    HEAD_FIRST_UID,
    fixture_bytes,
    fixture_files,
    truncated,
    zip_bytes,
)


@pytest.fixture
def data_dir(circus_cli: CircusCli) -> Path:
    return circus_cli.data


@pytest.fixture
def circus(circus_cli: CircusCli) -> CircusCli:
    """Run `circus ARGS...` with the test database and data directory."""
    return circus_cli


def test_import_series_walks_folders_and_archives(circus: Any, sync_db: Database, tmp_path: Path) -> None:
    source = tmp_path / "in"
    (source / "head").mkdir(parents=True)
    for path in fixture_files("head-first"):
        shutil.copy(path, source / "head" / path.name)
    (source / "head" / "README.txt").write_text("not DICOM")
    (source / "more").mkdir()
    foot = zip_bytes({f"{n}.dcm": data for n, data in fixture_bytes("foot-first").items()})
    (source / "more" / "foot.zip").write_bytes(foot)

    result = circus("import-series", "--domain", "vega.org", str(source))
    assert result.exit_code == 0, result.output
    assert "Imported 20 entities from 12 files. Skipped 1 non-DICOM entries." in result.stdout
    assert f"skipped (not DICOM): {source / 'head' / 'README.txt'}" in result.stdout
    assert f"series: {HEAD_FIRST_UID}" in result.stdout
    for uid in (HEAD_FIRST_UID, FOOT_FIRST_UID):
        doc = sync_db.series.find_one({"seriesUid": uid})
        assert doc is not None and (doc["images"], doc["domain"]) == ("1-10", "vega.org")


def test_import_series_reports_rejections_and_exits_non_zero(circus: Any, sync_db: Database, tmp_path: Path,
                                                            data_dir: Path) -> None:
    files = fixture_bytes("head-first", [1, 2])
    good, cut, text = tmp_path / "1.dcm", tmp_path / "cut.dcm", tmp_path / "note.txt"
    good.write_bytes(files[1])
    cut.write_bytes(truncated(files[2]))
    text.write_text("a file named on the command line must be DICOM or an archive")
    result = circus("import-series", "-d", "altair.org", str(good), str(cut), str(text), str(tmp_path / "gone"))
    assert result.exit_code == 1
    assert f"rejected: {cut}: truncated DICOM file" in result.stderr
    assert f"rejected: {text}: not a DICOM file" in result.stderr
    assert f"rejected: {tmp_path / 'gone'}: cannot be read (No such file or directory)" in result.stderr
    assert "Imported 1 entities from 4 files." in result.stdout
    assert sync_db.series.find_one({"seriesUid": HEAD_FIRST_UID})["images"] == "1"
    metas = [json.loads(p.read_text()) for p in (data_dir / "quarantine").glob("*/meta.json")]
    assert sorted(m["originalName"] for m in metas) == sorted([str(cut), str(text)])
    assert all(m["uploader"].startswith("cli:") and m["domain"] == "altair.org" for m in metas)
    assert cut.exists()  # the caller's file is copied into the quarantine, not taken


def test_import_series_can_anonymize(circus: Any, sync_db: Database) -> None:
    paths = [str(p) for p in fixture_files("foot-first")[:3]]
    result = circus("import-series", "--domain", "vega.org", "--anonymize", *paths)
    assert result.exit_code == 0, result.output
    assert sync_db.series.count_documents({"seriesUid": FOOT_FIRST_UID}) == 0
    (doc,) = sync_db.series.find({"domain": "vega.org", "seriesDescription": "foot_first"})
    assert doc["images"] == "1-3"
    assert "patientName" not in doc["patientInfo"]


def test_import_series_needs_a_domain_and_a_path(circus: Any) -> None:
    assert circus("import-series", "x.dcm").exit_code == 2
    assert circus("import-series", "--domain", "vega.org").exit_code == 2


def test_dump_dicom_prints_the_extracted_fields_as_json(circus: Any, tmp_path: Path) -> None:
    result = circus("dump-dicom", str(fixture_files("head-first")[4]))
    assert result.exit_code == 0, result.output
    dumped = json.loads(result.stdout)
    assert (dumped["seriesUid"], dumped["instanceNumber"], dumped["modality"]) == (HEAD_FIRST_UID, 5, "MR")
    assert dumped["seriesDate"] == "2018-02-16T09:36:47.829Z"
    assert dumped["parameters"]["InstanceNumber"] == 5

    broken = tmp_path / "cut.dcm"
    broken.write_bytes(truncated(fixture_bytes("head-first", [1])[1]))
    result = circus("dump-dicom", str(broken))
    assert result.exit_code == 1
    assert f"{broken}: truncated DICOM file" in result.stderr


def test_refresh_series_parameters(circus: Any, sync_db: Database) -> None:
    paths = [str(p) for p in fixture_files("head-first")[1:3]]
    assert circus("import-series", "--domain", "vega.org", *paths).exit_code == 0
    updated_at = sync_db.series.find_one({"seriesUid": HEAD_FIRST_UID})["updatedAt"]
    sync_db.series.update_one({"seriesUid": HEAD_FIRST_UID}, {"$set": {"parameters": {}}})

    result = circus("refresh-series-parameters", "--max-date", "2000-01-01T00:00:00Z")
    assert (result.exit_code, result.stdout) == (0, "Refreshed 0 series; 0 failed.\n")
    result = circus("refresh-series-parameters")
    assert (result.exit_code, result.stdout) == (0, "Refreshed 1 series; 0 failed.\n")
    doc = sync_db.series.find_one({"seriesUid": HEAD_FIRST_UID})
    assert doc["parameters"]["InstanceNumber"] == 2
    assert doc["updatedAt"] == updated_at

    sync_db.series.update_one({"seriesUid": HEAD_FIRST_UID}, {"$set": {"images": "7"}})
    result = circus("refresh-series-parameters", "--maxDate", "2999-01-01")
    assert result.exit_code == 1
    assert f"failed: {HEAD_FIRST_UID}: image 7 is missing from the DICOM repository" in result.stderr
    assert circus("refresh-series-parameters", "--max-date", "yesterday").exit_code == 2
