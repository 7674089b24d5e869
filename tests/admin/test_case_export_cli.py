"""`circus case export` (spec 8 export-case): one archive per case, the same writer as the task."""

from __future__ import annotations

import hashlib
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import Result
from pymongo.database import Database

from circus_api.imaging.labels import pack_label
from tests.admin.conftest import CircusCli
from tests.circus_api.imaging.synthetic import make_ct_series
from tests.circus_fixtures import load_fixtures

LUNG = "8883fdef6f5144f50eb2a83cd34baa44"
UID = "1.2.826.0.1.3680043.8.498.2001"
MASK = np.ones((2, 2, 2), dtype=bool)
BLOB = pack_label(MASK)
BLOB_HASH = hashlib.sha1(BLOB).hexdigest()


def insert_case(sync_db: Database, case_id: str, labels: list[dict[str, Any]], description: str) -> None:
    revision = {"creator": "bob@example.com", "description": description, "attributes": {}, "status": "draft",
                "series": [{"seriesUid": UID, "partialVolumeDescriptor": {"start": 1, "end": 4, "delta": 1},
                            "labels": labels}]}
    first = {**revision, "description": "first", "series": [{**revision["series"][0], "labels": []}]}
    sync_db.clinicalCases.insert_one({"caseId": case_id, "projectId": LUNG, "tags": [], "domains": [],
                                      "revisions": [first, revision], "latestRevision": revision})


@pytest.fixture
def run_cli(circus_cli: CircusCli, sync_db: Database) -> Callable[..., Result]:
    load_fixtures(sync_db)
    data = circus_cli.data
    series = make_ct_series(4, (8, 6), series_uid=UID)
    (data / "dicom" / UID).mkdir(parents=True)
    for number, content in series.files.items():
        (data / "dicom" / UID / f"{number:08d}.dcm").write_bytes(content)
    (data / "labels").mkdir()
    (data / "labels" / BLOB_HASH).write_bytes(BLOB)
    labels = [{"type": "point", "data": {"location": [0, 0, 0]}},
              {"type": "voxel", "data": {"voxels": BLOB_HASH, "origin": [1, 1, 1], "size": [2, 2, 2]}}]
    insert_case(sync_db, "01cliexportcase00000000000", labels, "latest")
    insert_case(sync_db, "01cliexportcase00000000001", [], "plain")
    return lambda *args: circus_cli("case", "export", *args)


def test_each_case_becomes_its_own_tar_gz_with_the_latest_revision(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = run_cli("01cliexportcase00000000000", "01cliexportcase00000000001", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "Exported 2 case(s)" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["01cliexportcase00000000000.tar.gz",
                                                    "01cliexportcase00000000001.tar.gz"]
    with tarfile.open(out / "01cliexportcase00000000000.tar.gz") as tar:
        names = tar.getnames()
        assert names == [f"01cliexportcase00000000000/{name}" for name in (
            "data.json", "vol000.mhd", "vol000.raw", "vol000-label001.mhd", "vol000-label001.raw")]
        header = tar.extractfile("01cliexportcase00000000000/vol000.mhd").read()  # type: ignore[union-attr]
        label = tar.extractfile("01cliexportcase00000000000/vol000-label001.raw").read()  # type: ignore[union-attr]
    assert b"\r" not in header and header.endswith(b"ElementDataFile = vol000.raw\n")
    assert np.frombuffer(label, dtype=np.uint8).reshape(4, 6, 8)[1:3, 1:3, 1:3].all()
    assert sum(label) == 8


def test_combined_zip(run_cli: Any, tmp_path: Path) -> None:
    result = run_cli("01cliexportcase00000000000", "-o", str(tmp_path), "-t", "combined", "--zip")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(tmp_path / "01cliexportcase00000000000.zip") as archive:
        assert archive.namelist()[-2:] == ["01cliexportcase00000000000/vol000-label.mhd",
                                           "01cliexportcase00000000000/vol000-label.raw"]
        assert set(archive.read("01cliexportcase00000000000/vol000-label.raw")) == {0, 2}


def test_an_error_stops_the_export_unless_continue_is_given(run_cli: Any, tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = run_cli("no-such-case", "01cliexportcase00000000001", "--out", str(out))
    assert result.exit_code == 1
    assert "no-such-case: Case no-such-case does not exist." in result.output
    assert "1 of 2 case(s) could not be exported." in result.output
    assert list(out.iterdir()) == []  # nothing half written, and the next case was not started

    result = run_cli("no-such-case", "01cliexportcase00000000001", "../escape", "--out", str(out), "--continue")
    assert result.exit_code == 1
    assert "2 of 3 case(s) could not be exported." in result.output
    assert "cannot name an archive folder" in result.output
    assert [p.name for p in out.iterdir()] == ["01cliexportcase00000000001.tar.gz"]
    assert not (tmp_path / "escape.tar.gz").exists()
