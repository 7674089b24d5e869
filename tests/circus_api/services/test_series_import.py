"""The one DICOM import (`services.series_import`), called directly with a real database and
CIRCUS's real DICOM files: series fields, merging, concurrency, bad input, quarantine, anonymize."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pydicom
import pytest
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure

from circus_api.db.documents import utcnow
from circus_api.imaging import dicom_files
from circus_api.imaging.dicom_import import parse_dicom
from circus_api.services import quarantine, series_import
from circus_api.services.quarantine import Rejection
from circus_api.services.series_import import ImportOptions, ImportSource
from circus_api.settings import Settings
from tests.circus_api.dicom_uploads import (
    FOOT_FIRST_UID,
    HEAD_FIRST_UID,
    STUDY_UID,
    files_under,
    fixture_bytes,
    fixture_files,
    tar_gz_bytes,
    truncated,
    without,
    zip_bomb,
    zip_bytes,
)
from tests.circus_api.imaging.synthetic import make_ct_series

OPTIONS = ImportOptions("vega.org", "bob@example.com")


def write(folder: Path, name: str, data: bytes) -> ImportSource:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return ImportSource(name, path)


async def run_import(db: AsyncDatabase, settings: Settings, sources: list[ImportSource],
                     options: ImportOptions = OPTIONS) -> series_import.ImportSummary:
    return await series_import.import_sources(db, settings, options, sources)


async def series_doc(db: AsyncDatabase, uid: str) -> dict[str, Any]:
    doc = await db.series.find_one({"seriesUid": uid}, {"_id": 0})
    assert doc is not None, uid
    return dict(doc)


def quarantine_items(settings: Settings) -> list[dict[str, Any]]:
    root = settings.quarantine_dir
    return [json.loads((item / "meta.json").read_text()) for item in sorted(root.iterdir())] if root.exists() else []


async def test_ten_files_make_one_series_with_the_fields_of_spec_5_2(db: AsyncDatabase, settings: Settings) -> None:
    sources = [ImportSource(p.name, p) for p in fixture_files("head-first")]
    before = utcnow()
    summary = await run_import(db, settings, sources)
    assert (summary.imported, summary.files, summary.rejected, summary.skipped) == (10, 10, [], [])
    assert summary.series_uids == [HEAD_FIRST_UID]
    assert series_import.summary_message(summary) == "Imported 10 entities from 10 files."

    doc = await series_doc(db, HEAD_FIRST_UID)
    first = parse_dicom(fixture_files("head-first")[0])
    created, updated = doc.pop("createdAt"), doc.pop("updatedAt")
    assert created >= before - dt.timedelta(seconds=1) and updated >= created
    assert doc == {"seriesUid": HEAD_FIRST_UID, **first.series_fields, "images": "1-10", "domain": "vega.org"}
    assert doc["studyUid"] == STUDY_UID
    assert (doc["width"], doc["height"], doc["modality"], doc["storageId"]) == (320, 260, "MR", 0)
    assert doc["seriesDate"] == dt.datetime(2018, 2, 16, 9, 36, 47, 829000)
    assert doc["patientInfo"] == {"patientId": "2018021601", "patientName": "TEST^MR1", "age": 41,
                                  "birthDate": "1975-04-01", "sex": "M"}
    assert doc["parameters"]["pixelSpacingX"] == 1.1875
    assert dicom_files.image_numbers(settings.dicom_dir, HEAD_FIRST_UID) == list(range(1, 11))
    stored = dicom_files.read_image(settings.dicom_dir, HEAD_FIRST_UID, 4)
    assert stored == fixture_files("head-first")[3].read_bytes()
    assert [p.name for p in files_under(settings.dicom_dir) if p.name.startswith(".")] == []


async def test_a_zip_and_a_tar_gz_import_like_separate_files(db: AsyncDatabase, settings: Settings,
                                                             tmp_path: Path) -> None:
    head = fixture_bytes("head-first")
    foot = fixture_bytes("foot-first")
    sources = [
        write(tmp_path, "head.zip", zip_bytes({f"sub/dir/{n:03d}.dcm": d for n, d in head.items()})),
        write(tmp_path, "foot.tar.gz", tar_gz_bytes({f"foot/{n}.dcm": d for n, d in foot.items()})),
    ]
    summary = await run_import(db, settings, sources)
    assert (summary.imported, summary.files, summary.rejected) == (20, 2, [])
    assert series_import.summary_message(summary) == "Imported 20 entities from 2 files."
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "1-10"
    foot_doc = await series_doc(db, FOOT_FIRST_UID)
    assert (foot_doc["images"], foot_doc["seriesDescription"]) == ("1-10", "foot_first")


async def test_out_of_order_instances_over_two_uploads_end_as_one_range(db: AsyncDatabase, settings: Settings,
                                                                       tmp_path: Path) -> None:
    files = fixture_bytes("head-first")
    first = [write(tmp_path / "a", f"{n}.dcm", files[n]) for n in (9, 3, 1, 5)]
    await run_import(db, settings, first)
    doc = await series_doc(db, HEAD_FIRST_UID)
    assert doc["images"] == "1,3,5,9"

    time.sleep(0.01)
    second = [write(tmp_path / "b", f"{n}.dcm", files[n]) for n in (10, 2, 8, 4, 6, 7, 3)]
    # spec 5.2: an existing series keeps its domain and metadata; only `images` grows
    summary = await run_import(db, settings, second, ImportOptions("altair.org", "carol@example.com"))
    assert summary.imported == 7
    merged = await series_doc(db, HEAD_FIRST_UID)
    assert merged["images"] == "1-10"
    assert merged["domain"] == "vega.org"
    assert merged["createdAt"] == doc["createdAt"]
    assert {k: v for k, v in merged.items() if k not in ("images", "updatedAt")} == \
        {k: v for k, v in doc.items() if k not in ("images", "updatedAt")}


async def test_concurrent_imports_of_one_series_lose_no_image_number(db: AsyncDatabase, settings: Settings,
                                                                    tmp_path: Path) -> None:
    files = fixture_bytes("head-first")
    uploads = [[write(tmp_path / str(n), "f.dcm", files[n])] for n in files]
    summaries = await asyncio.gather(*(run_import(db, settings, sources) for sources in uploads))
    assert sum(s.imported for s in summaries) == 10
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "1-10"
    assert await db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 1


async def test_concurrent_multi_file_imports_of_one_series_lose_no_image_number(
    db: AsyncDatabase, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(series_import, "_BATCH_IMAGES", 2)  # several transactions per import
    files = fixture_bytes("head-first")
    uploads = [[write(tmp_path / str(k), f"{n}.dcm", files[n]) for n in files if n % 3 == k] for k in range(3)]
    summaries = await asyncio.gather(*(run_import(db, settings, sources) for sources in uploads))
    assert sum(s.imported for s in summaries) == 10
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "1-10"
    assert await db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 1


async def test_images_are_recorded_in_batches_with_unchanged_progress(
    db: AsyncDatabase, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(series_import, "_BATCH_IMAGES", 4)
    head, foot = fixture_bytes("head-first"), fixture_bytes("foot-first")
    sources = [write(tmp_path, "head.zip", zip_bytes({f"{n}.dcm": d for n, d in head.items()})),
               *(write(tmp_path / "foot", f"{n}.dcm", foot[n]) for n in (7, 2, 5))]
    writes: list[str] = []
    real_insert, real_set_images = series_import.series.insert, series_import.series.set_images

    async def insert(db: AsyncDatabase, document: dict[str, Any], session: Any = None) -> None:
        writes.append(f"insert {document['seriesUid']} {document['images']}")
        await real_insert(db, document, session)

    async def set_images(db: AsyncDatabase, uid: str, images: str, session: Any = None) -> None:
        writes.append(f"set {uid} {images}")
        await real_set_images(db, uid, images, session)

    monkeypatch.setattr(series_import.series, "insert", insert)
    monkeypatch.setattr(series_import.series, "set_images", set_images)
    states: list[tuple[int, int, int]] = []

    async def progress(state: series_import.ImportProgress) -> None:
        states.append((state.files_done, state.files_total, state.imported))

    summary = await series_import.import_sources(db, settings, OPTIONS, sources, progress)
    assert (summary.imported, summary.files) == (13, 4)
    assert states == [*((0, 4, n) for n in range(1, 11)), (1, 4, 10), (1, 4, 11), (2, 4, 11), (2, 4, 12),
                      (3, 4, 12), (3, 4, 13), (4, 4, 13)]
    # the three plain files are stored in one thread hop, so they are pending together
    assert writes == [f"insert {HEAD_FIRST_UID} 1-4", f"set {HEAD_FIRST_UID} 1-8", f"set {HEAD_FIRST_UID} 1-10",
                      f"insert {FOOT_FIRST_UID} 2,5,7"]
    assert (await series_doc(db, FOOT_FIRST_UID))["images"] == "2,5,7"


async def test_a_failed_batch_removes_only_its_unrecorded_images(
    db: AsyncDatabase, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(series_import, "_BATCH_IMAGES", 3)
    files = fixture_bytes("head-first")
    await run_import(db, settings, [write(tmp_path / "a", "5.dcm", files[5])])

    async def set_images(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(series_import.series, "set_images", set_images)
    with pytest.raises(RuntimeError):
        await run_import(db, settings, [write(tmp_path / "b", f"{n}.dcm", files[n]) for n in (1, 5, 2, 3)])
    # 5 was listed before: its file stays; 1, 2 and 3 were stored but not recorded
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "5"
    assert dicom_files.image_numbers(settings.dicom_dir, HEAD_FIRST_UID) == [5]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: b"just some text, not a DICOM file" * 10, "not a DICOM file"),
        (lambda d: without(d, "PixelData"), "no pixel data"),
        (lambda d: without(d, "SeriesInstanceUID"), "missing SeriesInstanceUID"),
        (lambda d: without(d, "StudyInstanceUID"), "missing StudyInstanceUID"),
        (truncated, "truncated DICOM file"),
        (lambda d: d[:120], "not a DICOM file"),
    ],
    ids=["not-dicom", "no-pixel-data", "no-series-uid", "no-study-uid", "truncated", "cut-in-preamble"],
)
async def test_a_bad_file_is_rejected_quarantined_and_leaves_nothing_behind(
    db: AsyncDatabase, settings: Settings, tmp_path: Path, make: Any, reason: str
) -> None:
    bad = make(fixture_bytes("head-first", [1])[1])
    source = write(tmp_path, "bad.dcm", bad)
    summary = await run_import(db, settings, [source])
    assert summary.imported == 0
    assert summary.rejected == [Rejection("bad.dcm", reason)]
    assert await db.series.count_documents({}) == 0
    assert files_under(settings.dicom_dir) == []
    (meta,) = quarantine_items(settings)
    assert meta["uploader"] == "bob@example.com" and meta["domain"] == "vega.org"
    assert meta["originalName"] == "bad.dcm" and meta["reason"] == reason
    assert meta["rejectedEntries"] == [{"name": "bad.dcm", "reason": reason}]
    assert (settings.quarantine_dir / meta["quarantineId"] / "original").read_bytes() == bad
    assert source.path.read_bytes() == bad  # the CLI's own file is copied, not taken


async def test_valid_files_of_an_upload_are_imported_around_the_rejected_ones(
    db: AsyncDatabase, settings: Settings, tmp_path: Path
) -> None:
    files = fixture_bytes("head-first")
    archive = zip_bytes({
        **{f"ok/{n}.dcm": files[n] for n in range(1, 6)},
        "../escape.dcm": files[6],
        "/etc/absolute.dcm": files[7],
        "broken.dcm": truncated(files[8]),
        "README.txt": b"not DICOM, skipped",
    })
    sources = [
        write(tmp_path, "upload.zip", archive),
        ImportSource("9.dcm", fixture_files("head-first")[8], disposable=False),
        write(tmp_path, "note.txt", b"a stray text file"),
    ]
    summary = await run_import(db, settings, sources)
    assert summary.imported == 6
    assert summary.skipped == ["upload.zip/README.txt"]
    assert summary.rejected == [
        Rejection("upload.zip/../escape.dcm", "path with '..'"),
        Rejection("upload.zip//etc/absolute.dcm", "absolute path"),
        Rejection("upload.zip/broken.dcm", "truncated DICOM file"),
        Rejection("note.txt", "not a DICOM file"),
    ]
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "1-5,9"
    assert dicom_files.image_numbers(settings.dicom_dir, HEAD_FIRST_UID) == [1, 2, 3, 4, 5, 9]
    message = series_import.summary_message(summary)
    assert message.startswith("Imported 6 entities from 3 files. Skipped 1 non-DICOM entries. Rejected 4 entries")
    assert "upload.zip/broken.dcm: truncated DICOM file" in message
    # one quarantine item per uploaded file that held something rejected, with the original bytes
    metas = quarantine_items(settings)
    assert sorted(m["originalName"] for m in metas) == ["note.txt", "upload.zip"]
    zipped = next(m for m in metas if m["originalName"] == "upload.zip")
    assert len(zipped["rejectedEntries"]) == 3
    assert zipped["reason"].startswith("3 entries rejected")
    assert (settings.quarantine_dir / zipped["quarantineId"] / "original").read_bytes() == archive


async def test_a_failed_database_write_leaves_no_image_behind(db: AsyncDatabase, settings: Settings) -> None:
    # a validator refusing every series document stands in for a database that fails the write
    await db.create_collection("series", validator={"$jsonSchema": {"required": ["noSuchField"]}})
    with pytest.raises(OperationFailure):
        await run_import(db, settings, [ImportSource("1.dcm", fixture_files("head-first")[0])])
    assert files_under(settings.dicom_dir) == []


async def test_an_archive_expanding_over_the_limit_is_rejected(db: AsyncDatabase, settings: Settings,
                                                               tmp_path: Path) -> None:
    limited = replace(settings, upload_expanded_max_bytes=1_000_000)
    bomb = zip_bomb(20_000_000)
    assert len(bomb) < 100_000
    sources = [write(tmp_path, "bomb.zip", bomb), ImportSource("1.dcm", fixture_files("head-first")[0])]
    summary = await run_import(db, limited, sources)
    assert summary.imported == 1
    assert summary.rejected == [Rejection("bomb.zip/bomb.dcm", "the upload expands beyond 1000000 bytes")]
    assert [m["originalName"] for m in quarantine_items(settings)] == ["bomb.zip"]


async def test_a_corrupt_archive_is_rejected(db: AsyncDatabase, settings: Settings, tmp_path: Path) -> None:
    archive = zip_bytes({"1.dcm": fixture_bytes("head-first", [1])[1]})
    summary = await run_import(db, settings, [write(tmp_path, "cut.zip", archive[: len(archive) // 2])])
    assert summary.imported == 0
    (rejection,) = summary.rejected
    assert rejection.reason.startswith("truncated or corrupt zip archive")


async def test_a_missing_source_is_reported_and_not_quarantined(db: AsyncDatabase, settings: Settings,
                                                                tmp_path: Path) -> None:
    summary = await run_import(db, settings, [ImportSource("gone.dcm", tmp_path / "gone.dcm")])
    assert summary.rejected == [Rejection("gone.dcm", "cannot be read (No such file or directory)")]
    assert quarantine_items(settings) == []


async def test_a_staged_source_is_moved_into_the_quarantine(db: AsyncDatabase, settings: Settings,
                                                           tmp_path: Path) -> None:
    source = write(tmp_path, "x.txt", b"text")
    staged = ImportSource(source.name, source.path, disposable=True)
    await run_import(db, settings, [staged], ImportOptions("vega.org", "bob@example.com", task_id="t1"))
    assert not source.path.exists()
    (meta,) = quarantine_items(settings)
    assert meta["taskId"] == "t1"


async def test_staged_uploads_are_renamed_into_the_repository_and_other_files_copied(
    db: AsyncDatabase, settings: Settings, tmp_path: Path
) -> None:
    files = fixture_bytes("head-first", [1, 2])
    staged = write(tmp_path / "staged", "1.dcm", files[1])
    inode = staged.path.stat().st_ino
    own = write(tmp_path / "mine", "2.dcm", files[2])
    summary = await run_import(db, settings, [ImportSource(staged.name, staged.path, disposable=True), own])
    assert summary.imported == 2
    stored = dicom_files.image_path(settings.dicom_dir, HEAD_FIRST_UID, 1)
    assert stored.stat().st_ino == inode and not staged.path.exists()  # no byte copied
    assert own.path.read_bytes() == files[2]  # a file given by path is the user's: copied, never moved
    assert dicom_files.read_image(settings.dicom_dir, HEAD_FIRST_UID, 2) == files[2]


async def test_plain_files_around_archives_and_bad_sources_keep_their_order_and_outcomes(
    db: AsyncDatabase, settings: Settings, tmp_path: Path
) -> None:
    head = fixture_bytes("head-first")
    sources = [
        write(tmp_path, "1.dcm", head[1]),
        write(tmp_path, "notes.txt", b"not DICOM"),
        write(tmp_path, "more.zip", zip_bytes({"3.dcm": head[3], "readme.txt": b"hi"})),
        ImportSource("gone.dcm", tmp_path / "gone.dcm"),
        write(tmp_path, "2.dcm", head[2]),
    ]
    states: list[tuple[int, int]] = []

    async def progress(state: series_import.ImportProgress) -> None:
        states.append((state.files_done, state.imported))

    summary = await series_import.import_sources(db, settings, OPTIONS, sources, progress)
    assert (summary.files, summary.imported, summary.skipped) == (5, 3, ["more.zip/readme.txt"])
    assert summary.rejected == [Rejection("notes.txt", "not a DICOM file"),
                                Rejection("gone.dcm", "cannot be read (No such file or directory)")]
    assert states == [(0, 1), (1, 1), (2, 1), (2, 2), (3, 2), (4, 2), (4, 3), (5, 3)]
    assert (await series_doc(db, HEAD_FIRST_UID))["images"] == "1-3"
    assert [item["originalName"] for item in quarantine_items(settings)] == ["notes.txt"]


async def test_anonymize_removes_personal_data_and_remaps_uids_consistently(
    db: AsyncDatabase, settings: Settings
) -> None:
    sources = [ImportSource(p.name, p) for p in fixture_files("head-first")]
    summary = await run_import(db, settings, sources, ImportOptions("vega.org", "bob@example.com", anonymize=True))
    assert summary.imported == 10
    (new_uid,) = summary.series_uids
    assert new_uid != HEAD_FIRST_UID
    assert await db.series.count_documents({"seriesUid": HEAD_FIRST_UID}) == 0
    doc = await series_doc(db, new_uid)
    assert doc["images"] == "1-10"
    assert doc["studyUid"] != STUDY_UID
    # identifiers are gone; patient characteristics (age, sex) are kept, as the profile says
    assert not {"patientId", "patientName", "birthDate"} & set(doc["patientInfo"])
    assert doc["stationName"] == ""
    stored = pydicom.dcmread(settings.dicom_dir / new_uid / "00000003.dcm")
    assert (str(stored.PatientName), stored.PatientID, stored.PatientIdentityRemoved) == ("", "", "YES")
    assert stored.StudyInstanceUID == doc["studyUid"]
    assert not (settings.dicom_dir / HEAD_FIRST_UID).exists()


async def test_an_import_does_not_block_the_event_loop(db: AsyncDatabase, settings: Settings,
                                                       tmp_path: Path) -> None:
    synthetic = make_ct_series(50, size=128)
    sources = [write(tmp_path, f"{n}.dcm", data) for n, data in synthetic.files.items()]
    worst = 0.0
    done = asyncio.Event()

    async def ping() -> None:
        nonlocal worst
        while not done.is_set():
            start = time.monotonic()
            await asyncio.sleep(0.005)
            worst = max(worst, time.monotonic() - start)

    pinger = asyncio.create_task(ping())
    summary = await run_import(db, settings, sources)
    done.set()
    await pinger
    assert summary.imported == 50
    assert worst < 0.5, f"the loop stalled for {worst:.3f} s"


async def test_parameters_are_refreshed_from_the_first_image_keeping_updated_at(
    db: AsyncDatabase, settings: Settings
) -> None:
    await run_import(db, settings, [ImportSource(p.name, p) for p in fixture_files("head-first")[2:6]])
    await run_import(db, settings, [ImportSource(p.name, p) for p in fixture_files("foot-first")[:1]])
    old = dt.datetime(2019, 1, 1)
    await db.series.update_many({}, {"$set": {"parameters": {}, "updatedAt": old}})
    await db.series.update_one({"seriesUid": FOOT_FIRST_UID}, {"$set": {"images": "2-3"}})  # file 2 is missing
    await db.series.insert_one({"seriesUid": "1.2.3", "images": "", "createdAt": old})

    summary = await series_import.refresh_parameters(db, settings)
    assert summary.refreshed == 1
    assert sorted(f.name for f in summary.failed) == sorted(["1.2.3", FOOT_FIRST_UID])
    doc = await series_doc(db, HEAD_FIRST_UID)
    assert doc["parameters"] == parse_dicom(fixture_files("head-first")[2]).series_fields["parameters"]
    assert doc["parameters"]["InstanceNumber"] == 3  # the lowest-numbered image
    assert doc["updatedAt"] == old


async def test_refresh_is_limited_to_series_created_until_a_date(db: AsyncDatabase, settings: Settings) -> None:
    await run_import(db, settings, [ImportSource(p.name, p) for p in fixture_files("head-first")[:1]])
    summary = await series_import.refresh_parameters(db, settings, dt.datetime(2000, 1, 1))
    assert (summary.refreshed, summary.failed) == (0, [])


async def test_quarantine_listing_pages_newest_first(settings: Settings, tmp_path: Path) -> None:
    uploader = quarantine.Uploader("bob@example.com", "vega.org")
    for n in range(3):
        path = tmp_path / f"{n}.bin"
        path.write_bytes(b"x")
        await quarantine.keep(settings.quarantine_dir, path, path.name, [Rejection(path.name, "bad")], uploader,
                              move=False)
    (settings.quarantine_dir / ".half.partial").mkdir()
    page = await quarantine.list_items(settings.quarantine_dir, 2, 1)
    assert (page["totalItems"], page["page"]) == (3, 1)
    assert [item["originalName"] for item in page["items"]] == ["2.bin", "1.bin"]
    assert [i["originalName"] for i in (await quarantine.list_items(settings.quarantine_dir, 2, 2))["items"]] == \
        ["0.bin"]


def test_dump_describes_what_the_importer_extracts() -> None:
    described = series_import.describe_file(fixture_files("foot-first")[2])
    assert described["seriesUid"] == FOOT_FIRST_UID
    assert described["instanceNumber"] == 3
    assert described["seriesDescription"] == "foot_first"
    assert described["warnings"] == []


async def test_the_staging_sweep_removes_only_uploads_nothing_will_import(
    db: AsyncDatabase, settings: Settings
) -> None:
    def staged(name: str, age_days: float = 0) -> Path:
        folder = settings.upload_dir / name
        folder.mkdir(parents=True)
        (folder / "00001").write_bytes(b"staged")
        then = time.time() - age_days * 86400
        for path in (folder / "00001", folder):
            os.utime(path, (then, then))
        return folder

    for task_id, status in (("01ended", "finished"), ("01failed", "error"), ("01running", "processing")):
        await db.tasks.insert_one({"taskId": task_id, "status": status})
    kept = [staged(".incoming-now"), staged("01running", age_days=3), staged("01unknown-recent")]
    staged(".incoming-yesterday", age_days=2)
    staged("01ended")
    staged("01failed")
    staged("01unknown-old", age_days=2)

    assert await series_import.sweep_staging(db, settings) == 4
    assert sorted(settings.upload_dir.iterdir()) == sorted(kept)
    assert await series_import.sweep_staging(db, settings) == 0
