"""DICOM import (spec 5.2, 4.5 endpoints 14-15, CLI `import-series`): files and archives into
the DICOM repository and the `series` collection.

`import_sources` is the one import: the upload task, the single-file route and the CLI all call
it, so the rules live here once:

- each source is a file (DICOM, zip or tar.gz, told apart by its first bytes); archive members
  and files found by walking a folder that are not DICOM are skipped and counted, a file given
  directly that is neither DICOM nor an archive is rejected;
- a DICOM entry is parsed and checked completely before anything is written; an entry that
  cannot be imported (unparseable, no pixel data, missing UIDs, truncated, unsafe archive member,
  archive over the limits) is rejected while the other entries of the upload go on, and the
  source file that held it is kept in the quarantine;
- a file's header only is read; a staged upload (the task's own copy) is fsynced and renamed into
  the repository, any other file is copied there under a temporary name and renamed into place;
- the images stored are then recorded per series, up to `_BATCH_IMAGES` at a time and at the
  latest before the last source's progress report: their folders are fsynced once (the renames
  become durable), then one transaction per series inserts the series document (from its first
  image) or grows its `images` by all the new numbers at once (spec 5.8). When that fails, the
  stored images whose numbers the series does not list are removed.

Parsing, anonymizing and writing run in a worker thread, never on the event loop, and plain files
go several per thread hop (`_store_files`): a hop costs about as much as parsing a header.
`bench/ingest.py` measures the whole path.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import anyio.to_thread
import redis.asyncio as aioredis
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db import series
from circus_api.db import tasks as tasks_db
from circus_api.db.ids import new_ulid
from circus_api.db.transactions import with_transaction
from circus_api.errors import BadRequest, Forbidden
from circus_api.imaging import dicom_files
from circus_api.imaging.anonymize import anonymize as anonymize_file
from circus_api.imaging.dicom_import import ParsedInstance, parameters, parse_dicom
from circus_api.imaging.dicom_reading import has_dicm_prefix, lenient_values, read_dataset
from circus_api.imaging.errors import DicomImportError, ImagingError
from circus_api.imaging.ranges import first_segment, format_range, format_segments, parse_segments, range_contains
from circus_api.imaging.upload_archive import EntryKind, UploadEntry, UploadLimits, iter_upload_entries
from circus_api.privileges import Privileges
from circus_api.services import quarantine, tasks
from circus_api.services.quarantine import Rejection, Uploader
from circus_api.settings import Settings

log = logging.getLogger(__name__)

TASK_NAME = "Series import"
MANIFEST_FILE = "manifest.json"
NOT_DICOM_SINGLE = "The file is not a DICOM file. You cannot use archived files."
BROKEN_FILE = "Error while importing a DICOM file. This may mean the uploaded file is broken."
# zip (local header, spanned, empty) and gzip; upload_archive tells them apart the same way
_ARCHIVE_MAGICS = (b"PK\x03\x04", b"PK\x07\x08", b"PK\x05\x06", b"\x1f\x8b")
_UPSERT_ATTEMPTS = 5
_BATCH_IMAGES = 50  # stored images recorded together (one transaction per series)
_FILES_PER_HOP = 32  # plain files checked and stored per thread hop, at most
_HOP_SECONDS = 0.1  # and for about this long
_MESSAGE_REJECTIONS = 10
STAGING_MAX_AGE = dt.timedelta(days=1)  # a request's staging folder untouched this long was abandoned


@dataclass(frozen=True)
class ImportSource:
    name: str  # as the sender knows it: the upload's file name, the CLI's path
    path: Path
    in_folder: bool = False  # found by walking a folder: not DICOM means skipped, not rejected
    disposable: bool = False  # a staged upload: may be moved into the quarantine, not copied


@dataclass(frozen=True)
class ImportOptions:
    domain: str
    uploader: str  # user e-mail, or a description of the CLI caller
    anonymize: bool = False
    task_id: str | None = None


@dataclass(frozen=True)
class ImportProgress:
    files_done: int
    files_total: int
    imported: int


ProgressCallback = Callable[[ImportProgress], Awaitable[None]]


@dataclass
class ImportSummary:
    files: int = 0
    imported: int = 0
    skipped: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)
    series_uids: list[str] = field(default_factory=list)  # in the order first seen
    quarantined: list[str] = field(default_factory=list)  # quarantine item IDs


@dataclass(frozen=True)
class _Imported:
    parsed: ParsedInstance
    path: Path  # where it is stored


@dataclass(frozen=True)
class _Skipped:
    name: str


# ---- the import ----------------------------------------------------------------------------------


async def import_sources(
    db: AsyncDatabase,
    settings: Settings,
    options: ImportOptions,
    sources: Sequence[ImportSource],
    progress: ProgressCallback | None = None,
) -> ImportSummary:
    """Import every DICOM entry of `sources` into `options.domain`; never stops at a bad entry.

    Raises only on storage failures (database, DICOM repository, quarantine).
    """
    summary = ImportSummary()
    limits = UploadLimits(settings.upload_expanded_max_bytes, settings.upload_archive_max_members)
    report = _Reporter(progress, len(sources))
    # one map per import: every file of an anonymized upload gets the same new series/study UIDs
    uid_map: dict[str, str] = {}
    pending = _PendingImages(db, settings, options.domain)
    index = 0
    try:
        while index < len(sources):
            # plain files are checked and stored several per thread hop (a hop costs about as much
            # as parsing a header); an archive is walked entry by entry
            outcomes = await anyio.to_thread.run_sync(
                _store_files, sources[index:index + _FILES_PER_HOP], options.anonymize, settings, uid_map
            )
            for outcome in outcomes:  # pending at once: if anything below fails, they are removed
                if isinstance(outcome, _Imported):
                    pending.add(outcome)
            for outcome in outcomes:
                source = sources[index]
                if isinstance(outcome, _Unreadable):
                    rejections, readable = [outcome.rejection], False
                elif isinstance(outcome, _Archive):
                    rejections, readable = await _import_archive(
                        settings, options, source, limits, uid_map, summary, report, pending
                    ), True
                else:
                    rejections, readable = await _take(outcome, options, summary, report, pending), True
                summary.files += 1
                summary.rejected.extend(rejections)
                if rejections and readable:
                    uploader = Uploader(options.uploader, options.domain, options.task_id)
                    summary.quarantined.append(await quarantine.keep(
                        settings.quarantine_dir, source.path, source.name, rejections, uploader,
                        source.disposable,
                    ))
                if index == len(sources) - 1:
                    await pending.record()  # everything is in the series documents before the last report
                await report(summary)
                index += 1
        await pending.record()
    except BaseException:
        await pending.discard()
        raise
    return summary


class _PendingImages:
    """Images stored in the repository and not recorded yet, grouped per series (first seen first)."""

    def __init__(self, db: AsyncDatabase, settings: Settings, domain: str) -> None:
        self.db, self.settings, self.domain = db, settings, domain
        self.by_series: dict[str, list[ParsedInstance]] = {}
        self.count = 0
        self.folders: set[Path] = set()  # repository folders whose renames are not durable yet

    def add(self, stored: _Imported) -> None:
        self.by_series.setdefault(stored.parsed.series_uid, []).append(stored.parsed)
        self.folders.add(stored.path.parent)
        self.count += 1

    async def record(self) -> None:
        """One transaction per series; a recorded series leaves the pending ones at once.

        The images' folders are synced first: a series document never lists an image whose
        rename a crash could still undo."""
        if self.folders:
            folders, self.folders = self.folders, set()
            await anyio.to_thread.run_sync(dicom_files.sync_folders, folders)
        while self.by_series:
            uid, instances = next(iter(self.by_series.items()))
            await _upsert_series(self.db, uid, instances, self.domain, self.settings.transaction_max_commit_ms)
            del self.by_series[uid]
            self.count -= len(instances)

    async def discard(self) -> None:
        """Remove the stored images no series document lists (best effort: something failed)."""
        pending, self.by_series, self.count, self.folders = self.by_series, {}, 0, set()
        for uid, instances in pending.items():
            await _discard_unrecorded_images(self.db, self.settings.dicom_dir, uid,
                                             [parsed.instance_number for parsed in instances])


@dataclass(frozen=True)
class _Reporter:
    callback: ProgressCallback | None
    files_total: int

    async def __call__(self, summary: ImportSummary) -> None:
        if self.callback is not None:
            await self.callback(ImportProgress(summary.files, self.files_total, summary.imported))


async def _import_archive(
    settings: Settings,
    options: ImportOptions,
    source: ImportSource,
    limits: UploadLimits,
    uid_map: dict[str, str],
    summary: ImportSummary,
    report: _Reporter,
    pending: _PendingImages,
) -> list[Rejection]:
    """Import the entries of an archive source; its rejected entries."""
    entries = cast(Generator[UploadEntry, None, None], iter_upload_entries(source.name, source.path, limits))
    rejections: list[Rejection] = []
    try:
        while True:
            outcome = await anyio.to_thread.run_sync(
                _next_outcome, entries, source, options.anonymize, settings, uid_map
            )
            if outcome is None:
                break
            if isinstance(outcome, _Imported):
                pending.add(outcome)
            rejections.extend(await _take(outcome, options, summary, report, pending))
    finally:
        await anyio.to_thread.run_sync(entries.close)  # closes the source file
    return rejections


async def _take(
    outcome: _Imported | _Skipped | Rejection,
    options: ImportOptions,
    summary: ImportSummary,
    report: _Reporter,
    pending: _PendingImages,
) -> list[Rejection]:
    """Count one entry's outcome (an imported one is already pending); the rejection, if it is one."""
    if isinstance(outcome, Rejection):
        log.info("import entry rejected", extra={"task_id": options.task_id, "reason": outcome.reason})
        return [outcome]
    if isinstance(outcome, _Skipped):
        summary.skipped.append(outcome.name)
        return []
    if pending.count >= _BATCH_IMAGES:
        await pending.record()
    summary.imported += 1
    if outcome.parsed.series_uid not in summary.series_uids:
        summary.series_uids.append(outcome.parsed.series_uid)
    await report(summary)
    return []


@dataclass(frozen=True)
class _Unreadable:
    rejection: Rejection


@dataclass(frozen=True)
class _Archive:
    """The source is an archive: its entries are imported one by one (`_import_archive`)."""


def _store_files(
    sources: Sequence[ImportSource], anonymize: bool, settings: Settings, uid_map: dict[str, str]
) -> list[_Imported | _Skipped | Rejection | _Unreadable | _Archive]:
    """Check and store the leading plain files of `sources` (blocking: runs in a thread).

    Stops after an archive (left unopened) and once `_HOP_SECONDS` have passed, so progress
    reports and cancellation are not held up; at least one source is always done.
    """
    outcomes: list[_Imported | _Skipped | Rejection | _Unreadable | _Archive] = []
    deadline = time.monotonic() + _HOP_SECONDS
    for source in sources:
        try:
            outcome = _file_outcome(source, anonymize, settings, uid_map)
        except Exception:
            if outcomes:  # the files stored so far are recorded first; the next hop meets this again
                break
            raise
        outcomes.append(outcome)
        if isinstance(outcome, _Archive) or time.monotonic() > deadline:
            break
    return outcomes


def _file_outcome(
    source: ImportSource, anonymize: bool, settings: Settings, uid_map: dict[str, str]
) -> _Imported | _Skipped | Rejection | _Unreadable | _Archive:
    """Check and store a source that is one file; only its header is read.

    A staged upload is renamed into the repository, other files are copied."""
    try:
        with open(source.path, "rb") as fp:
            head = fp.read(132)
    except OSError as exc:
        return _Unreadable(Rejection(source.name, f"cannot be read ({exc.strerror or exc})"))
    if head.startswith(_ARCHIVE_MAGICS):
        return _Archive()
    if not has_dicm_prefix(head):
        return _Skipped(source.name) if source.in_folder else Rejection(source.name, "not a DICOM file")
    try:
        if anonymize:
            return _store(source.name, source.path.read_bytes(), anonymize, settings, uid_map)
        parsed = parse_dicom(source.path)
    except DicomImportError as exc:
        return Rejection(source.name, exc.reason)
    except OSError as exc:
        return Rejection(source.name, f"cannot be read ({exc.strerror or exc})")
    store = dicom_files.move_image if source.disposable else dicom_files.copy_image
    path = store(settings.dicom_dir, parsed.series_uid, parsed.instance_number, source.path, sync_folder=False)
    return _Imported(parsed, path)


def _next_outcome(
    entries: Generator[UploadEntry, None, None],
    source: ImportSource,
    anonymize: bool,
    settings: Settings,
    uid_map: dict[str, str],
) -> _Imported | _Skipped | Rejection | None:
    """Read, check and store the next entry of an archive (blocking: runs in a worker thread)."""
    entry = next(entries, None)
    if entry is None:
        return None
    name = f"{source.name}/{entry.name}"
    if entry.kind is EntryKind.REJECTED:
        return Rejection(name, entry.reason or "rejected")
    if entry.kind is EntryKind.SKIPPED:
        return _Skipped(name)
    assert entry.data is not None  # DICOM entries carry their bytes
    try:
        return _store(name, entry.data, anonymize, settings, uid_map)
    except DicomImportError as exc:
        return Rejection(name, exc.reason)


def _store(name: str, data: bytes, anonymize: bool, settings: Settings, uid_map: dict[str, str]) -> _Imported:
    """Check (and de-identify) one file's bytes, then write them into the repository."""
    parsed = parse_dicom(data)
    if anonymize:
        data = _anonymized(data, uid_map)
        parsed = parse_dicom(data)
    path = dicom_files.write_image(settings.dicom_dir, parsed.series_uid, parsed.instance_number, data,
                                   sync_folder=False)
    return _Imported(parsed, path)


def _anonymized(data: bytes, uid_map: dict[str, str]) -> bytes:
    try:
        return anonymize_file(data, uid_map)
    # pydicom fails in many ways re-encoding odd files; such a file must not be imported as it is
    except Exception as exc:
        raise DicomImportError(f"cannot be de-identified ({exc})") from exc


async def _upsert_series(
    db: AsyncDatabase, uid: str, instances: Sequence[ParsedInstance], domain: str, max_commit_ms: int
) -> None:
    """Insert the series from its first instance, or add all the instances' numbers to it."""
    numbers = [parsed.instance_number for parsed in instances]
    negative = [n for n in numbers if n < 0]
    if negative:
        raise ValueError(f"image numbers are non-negative, got {negative[0]}")

    async def upsert(session: AsyncClientSession) -> None:
        # no pseudo-lock needed: if a concurrent import changed `images` since this snapshot, the
        # write below is a write conflict and the transaction is retried on the new value, so no
        # number is lost (the lock's two extra writes of the series were half the upsert's cost)
        existing = await series.find(db, uid, session)
        if existing is None:
            document = {"seriesUid": uid, **instances[0].series_fields, "images": format_range(numbers),
                        "domain": domain}
            await series.insert(db, document, session)
        else:
            # spec 5.2: an existing series only gains the image numbers (domain, metadata stay)
            current = existing.get("images") or ""
            images = format_segments([*parse_segments(current), *((n, n) for n in numbers)])
            if images != existing.get("images"):
                await series.set_images(db, uid, images, session)

    for attempt in range(_UPSERT_ATTEMPTS):
        try:
            await with_transaction(db.client, upsert, max_commit_ms)
            return
        except DuplicateKeyError:
            # another import inserted the series first; the next attempt adds to it
            if attempt == _UPSERT_ATTEMPTS - 1:
                raise


async def _discard_unrecorded_images(db: AsyncDatabase, dicom_dir: Path, uid: str, numbers: list[int]) -> None:
    """Remove stored images the series document does not list (best effort: the database failed)."""
    try:
        existing = await series.find(db, uid)
        images = existing.get("images", "") if existing else ""
        paths = [dicom_files.image_path(dicom_dir, uid, number) for number in set(numbers)
                 if existing is None or not _lists(images, number)]

        def unlink() -> None:
            for path in paths:
                path.unlink(missing_ok=True)

        await anyio.to_thread.run_sync(unlink)
    except Exception:
        log.exception("stored images left after a failed import", extra={"series_uid": uid})


def _lists(images: str, number: int) -> bool:
    try:
        return range_contains(images, number)
    except ValueError:  # a malformed legacy range lists nothing we can rely on
        return False


def summary_message(summary: ImportSummary) -> str:
    """CIRCUS's finish message, plus what was skipped and rejected."""
    parts = [f"Imported {summary.imported} entities from {summary.files} files."]
    if summary.skipped:
        parts.append(f"Skipped {len(summary.skipped)} non-DICOM entries.")
    if summary.rejected:
        listed = "; ".join(f"{r.name}: {r.reason}" for r in summary.rejected[:_MESSAGE_REJECTIONS])
        more = len(summary.rejected) - _MESSAGE_REJECTIONS
        parts.append(
            f"Rejected {len(summary.rejected)} entries (the files are kept in quarantine): {listed}"
            + (f"; and {more} more." if more > 0 else ".")
        )
    return " ".join(parts)


# ---- the upload routes ---------------------------------------------------------------------------


def check_upload(privileges: Privileges, domain: str, redis: aioredis.Redis | None = None,
                 needs_worker: bool = False) -> None:
    """503 when the import task cannot run, 403 when the domain is not the caller's (spec 4.5)."""
    if needs_worker:
        tasks.require_redis(redis)
    if domain not in privileges.domains:
        raise Forbidden("You cannot upload to this domain.")


def anonymize_option(*values: str | None) -> bool:
    """The first given `anonymize` value (query string, then form field); absent means off."""
    for value in values:
        if value is None:
            continue
        if value.lower() in ("true", "1", "yes", "on"):
            return True
        if value.lower() in ("false", "0", "no", "off", ""):
            return False
        raise BadRequest("anonymize must be true or false.")
    return False


def new_staging_folder(settings: Settings) -> Path:
    """Where a request's files are received; dot-prefixed until a task takes it over."""
    return settings.upload_dir / f".incoming-{new_ulid()}"


def staging_folder(settings: Settings, task_id: str) -> Path:
    return settings.upload_dir / task_id


async def sweep_staging(db: AsyncDatabase, settings: Settings, max_age: dt.timedelta = STAGING_MAX_AGE) -> int:
    """Remove staged uploads nothing will import (returns how many folders went): a task's folder
    once its task has ended (its worker died before removing it), and a request's or an unknown
    folder untouched for `max_age` (the API stopped while receiving it)."""
    folders = await anyio.to_thread.run_sync(_staged_folders, settings.upload_dir)
    cutoff = time.time() - max_age.total_seconds()
    stale = []
    for folder, touched in folders:
        task = None if folder.name.startswith(".") else await tasks_db.find(db, folder.name)
        if (task is not None and task.get("status") != "processing") or (task is None and touched < cutoff):
            stale.append(folder)
    for folder in stale:
        await discard_folder(folder)
    return len(stale)


def _staged_folders(upload_dir: Path) -> list[tuple[Path, float]]:
    """The folders of `upload_dir` with the time anything in them last changed."""
    found = []
    for folder in upload_dir.iterdir() if upload_dir.is_dir() else []:
        try:
            if folder.is_dir():
                found.append((folder, max([folder.stat().st_mtime, *(p.stat().st_mtime for p in folder.iterdir())])))
        except OSError:  # removed meanwhile, by the task itself
            continue
    return found


async def start_import_task(
    db: AsyncDatabase,
    redis: aioredis.Redis | None,
    settings: Settings,
    user_email: str,
    folder: Path,
    files: Sequence[tuple[str, Path]],
    send: Callable[[str], Any],
) -> str:
    """Register a `Series import` task for the received files and hand them to a worker.

    The files (`(name, path)` pairs inside `folder`) are recorded in a manifest and the folder is
    renamed to `<upload_dir>/<taskId>/` before `send(task_id)`, so the worker finds them by the
    task ID alone. Call it inside `staged(folder)`, which removes the folder on failure.
    """
    if not files:
        raise BadRequest("No file is uploaded.")
    manifest = [{"name": name, "file": path.name} for name, path in files]
    await anyio.to_thread.run_sync(lambda: (folder / MANIFEST_FILE).write_text(json.dumps({"files": manifest})))
    taken_over: list[Path] = []

    def hand_over(task_id: str) -> Any:
        target = staging_folder(settings, task_id)
        os.replace(folder, target)  # a rename within the upload directory: no data is copied
        taken_over.append(target)
        return send(task_id)

    try:
        return await tasks.register(db, redis, user_email, TASK_NAME, hand_over)
    except BaseException:
        for path in taken_over:  # renamed, but the task was not queued
            shutil.rmtree(path, ignore_errors=True)
        raise


async def staged_sources(settings: Settings, task_id: str) -> list[ImportSource]:
    folder = staging_folder(settings, task_id)
    manifest = json.loads(await anyio.to_thread.run_sync((folder / MANIFEST_FILE).read_text))
    return [ImportSource(entry["name"], folder / Path(entry["file"]).name, disposable=True)
            for entry in manifest["files"]]


async def discard_staging(settings: Settings, task_id: str) -> None:
    await discard_folder(staging_folder(settings, task_id))


async def import_single(
    db: AsyncDatabase, settings: Settings, options: ImportOptions, files: Sequence[tuple[str, Path]]
) -> None:
    """Endpoint 15: exactly one DICOM file (`(name, staged path)`), imported before the response."""
    if len(files) != 1:
        raise BadRequest("Only one file is allowed.")
    source = ImportSource(files[0][0], files[0][1], disposable=True)
    if not await anyio.to_thread.run_sync(_has_dicm_prefix, source.path):
        rejection = Rejection(source.name, "not a DICOM file (single-file upload)")
        await quarantine.keep(settings.quarantine_dir, source.path, source.name, [rejection],
                              Uploader(options.uploader, options.domain), source.disposable)
        raise BadRequest(NOT_DICOM_SINGLE)
    summary = await import_sources(db, settings, options, [source])
    if summary.rejected:
        # Re-impl: CIRCUS answers 500; a broken file is the client's problem, so 400 with the reason
        raise BadRequest(f"{BROKEN_FILE} ({summary.rejected[0].reason})")


async def discard_folder(folder: Path) -> None:
    await anyio.to_thread.run_sync(lambda: shutil.rmtree(folder, ignore_errors=True))


@contextlib.asynccontextmanager
async def staged(folder: Path, keep: bool = True) -> AsyncIterator[None]:
    """Remove a request's staging folder when the block fails (or always, unless `keep`)."""
    try:
        yield
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)  # synchronous: must also run on cancellation
        raise
    if not keep:
        await discard_folder(folder)


def _has_dicm_prefix(path: Path) -> bool:
    with open(path, "rb") as fp:
        return has_dicm_prefix(fp.read(132))


# ---- the CLI's other commands ----------------------------------------------------------------------


def describe_file(path: Path) -> dict[str, Any]:
    """What the importer extracts from one file (`dump-dicom`); DicomImportError when it cannot.

    Blocking: for the CLI, or run it in a thread.
    """
    parsed = parse_dicom(path)
    return {
        "seriesUid": parsed.series_uid,
        "instanceNumber": parsed.instance_number,
        **parsed.series_fields,
        "warnings": parsed.warnings,
    }


@dataclass
class RefreshSummary:
    refreshed: int = 0
    failed: list[Rejection] = field(default_factory=list)  # name = series UID


async def refresh_parameters(
    db: AsyncDatabase, settings: Settings, created_until: dt.datetime | None = None
) -> RefreshSummary:
    """Recompute `parameters` of every series from its lowest-numbered image (spec 8).

    `updatedAt` is left as it was. A series whose image is missing or unreadable is reported and
    the others go on.
    """
    summary = RefreshSummary()
    rows = await series.images_of_all(db, created_until)
    for row in rows:
        uid = row["seriesUid"]
        try:
            values = await anyio.to_thread.run_sync(_parameters_of_first_image, settings.dicom_dir, uid,
                                                    row.get("images") or "")
        except (OSError, ValueError, ImagingError) as exc:
            summary.failed.append(Rejection(uid, str(exc)))
        else:
            await series.set_parameters(db, uid, values)
            summary.refreshed += 1
    return summary


def _parameters_of_first_image(dicom_dir: Path, series_uid: str, images: str) -> dict[str, Any]:
    segment = first_segment(images)
    if segment is None:
        raise ValueError("the series has no images")
    path = dicom_files.image_path(dicom_dir, series_uid, segment[0])
    if not path.is_file():
        raise FileNotFoundError(f"image {segment[0]} is missing from the DICOM repository")
    with lenient_values(), open(path, "rb") as fp:
        return dict(parameters(read_dataset(fp, stop_before_pixels=True)))
