"""The `Export DICOM data` task function, called directly with a recording reporter: progress
messages, the finish message, the atomic rename and the cleanup after a failure."""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any, cast

import pytest

from circus_api.imaging.dicom_files import write_image
from circus_api.tasks import cs_volume_export
from circus_api.tasks.progress import TaskFailure, TaskReporter
from tests.circus_api.imaging.synthetic import make_ct_series

UID = "1.2.826.0.1.3680043.2.1125.77.2"


class RecordingReporter:
    """The part of TaskReporter a task function uses, recording what it was told."""

    def __init__(self, download_dir: Path) -> None:
        self.task_id = "01exporttask00000000000000"
        self.download_path = download_dir / self.task_id
        self.events: list[tuple[Any, ...]] = []

    async def progress(self, message: str, finished: int | None = None, total: int | None = None,
                       force: bool = False) -> None:
        self.events.append(("progress", message, finished, total))

    async def finish(self, message: str = "Finished.") -> None:
        self.events.append(("finish", message))


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    dicom_dir, download_dir = tmp_path / "dicom", tmp_path / "downloads"
    download_dir.mkdir()
    for number, data in make_ct_series(4, 8, series_uid=UID).files.items():
        write_image(dicom_dir, UID, number, data)
    return dicom_dir, download_dir


async def export(reporter: RecordingReporter, dicom_dir: Path, entries: list[dict[str, Any]], fmt: str) -> None:
    await cs_volume_export.run(cast(TaskReporter, reporter), dicom_dir, entries, fmt)


def entry(start: int, end: int, delta: int) -> dict[str, Any]:
    return {"seriesUid": UID, "partialVolumeDescriptor": {"start": start, "end": end, "delta": delta}}


async def test_progress_per_volume_then_exported(dirs: tuple[Path, Path]) -> None:
    dicom_dir, download_dir = dirs
    reporter = RecordingReporter(download_dir)
    await export(reporter, dicom_dir, [entry(1, 4, 1), entry(4, 1, -1), entry(2, 2, 1)], "tgz")
    assert reporter.events == [
        ("progress", "Processing volume #1", 0, 3),
        ("progress", "Processing volume #2", 1, 3),
        ("progress", "Processing volume #3", 2, 3),
        ("finish", "exported"),
    ]
    assert [p.name for p in download_dir.iterdir()] == [reporter.task_id]
    with tarfile.open(reporter.download_path) as archive:
        assert archive.getnames() == [f"{i}.{s}" for i in range(3) for s in ("mhd", "raw", "json")]
        sizes = {m.name: m.size for m in archive.getmembers()}
    assert (sizes["0.raw"], sizes["1.raw"], sizes["2.raw"]) == (8 * 8 * 4 * 2, 8 * 8 * 4 * 2, 8 * 8 * 2)


async def test_a_failed_volume_leaves_no_file_behind(dirs: tuple[Path, Path]) -> None:
    dicom_dir, download_dir = dirs
    reporter = RecordingReporter(download_dir)
    with pytest.raises(TaskFailure) as failure:
        await export(reporter, dicom_dir, [entry(1, 4, 1), entry(1, 5, 1)], "zip")
    assert str(failure.value).startswith("Volume #2 could not be exported: ")
    assert reporter.events[-1] == ("progress", "Processing volume #2", 1, 2)
    assert list(download_dir.iterdir()) == []  # no archive, no partial file, no scratch folder
