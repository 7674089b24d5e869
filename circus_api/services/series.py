"""Series, the read side (spec 4.5 #12, #13, #16-#19): search, one series, orientation,
deletion and the CS volume export. Uploads live in `services/series_import.py`.

Series endpoints apply only layer 2 of the patientInfo rules (spec 2.4): the field is returned
when the caller has the global privilege `personalInfoView` and wants it (preference).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import anyio.to_thread
import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import clinical_cases, plugin_jobs
from circus_api.db import series as series_db
from circus_api.db.transactions import with_transaction
from circus_api.errors import BadRequest, CircusError, Forbidden, NotFound
from circus_api.imaging.dicom_files import delete_series, is_valid_uid
from circus_api.imaging.errors import ImagingError
from circus_api.imaging.orientation import orientation as resolve_orientation
from circus_api.imaging.orientation import orientation_name
from circus_api.imaging.ranges import Segment, parse_segments, pvd_fits, validate_pvd
from circus_api.privileges import Privileges, shows_personal_info
from circus_api.search import ItemShaper, SearchRequest, run_my_list_search, run_pipeline_search
from circus_api.services import tasks as task_service
from circus_api.tasks import actors, cs_volume_export

log = logging.getLogger(__name__)

NOT_FOUND = "This series does not exist."
DOMAIN_REFUSED = "You do not have privilege to access this series."


def _check_domain(privileges: Privileges, series: Mapping[str, Any]) -> None:
    if series.get("domain") not in privileges.domains:
        raise Forbidden(DOMAIN_REFUSED)


def patient_info_shaper(user: Mapping[str, Any], privileges: Privileges) -> ItemShaper:
    """Removes `patientInfo` from an item unless it is to be shown (spec 2.4 layer 2)."""
    shown = shows_personal_info(dict(user), privileges)

    def shape(item: dict[str, Any]) -> dict[str, Any]:
        if not shown or item.get("patientInfo") is None:
            item.pop("patientInfo", None)
        return item

    return shape


# ---- search and read -------------------------------------------------------------------------


async def search(
    db: AsyncDatabase,
    user: Mapping[str, Any],
    privileges: Privileges,
    request: SearchRequest,
    my_list_id: str | None = None,
) -> dict[str, Any]:
    """`GET /series` (no join stages), or the items of a my list checked with `own_my_list`."""
    access = {"domain": {"$in": privileges.domains}}
    shape = patient_info_shaper(user, privileges)
    if my_list_id is not None:
        return await run_my_list_search(db, my_list_id, "series", request, [], access, shape=shape)
    return await run_pipeline_search(db[series_db.COLLECTION], request, [], access, shape=shape)


async def get(db: AsyncDatabase, user: Mapping[str, Any], privileges: Privileges, series_uid: str) -> dict[str, Any]:
    series = await series_db.find(db, series_uid)
    if series is None:
        raise NotFound(NOT_FOUND)
    _check_domain(privileges, series)
    return patient_info_shaper(user, privileges)(series)


# ---- orientation -----------------------------------------------------------------------------

_IMAGE_NUMBER = re.compile(r"[1-9][0-9]*")
# longer numbers are never image numbers (and int() refuses very long strings)
_MAX_DIGITS = 18


def parse_image_number(values: Sequence[str], default: int | None) -> int | None:
    """A `start`/`end` query value: a positive integer without sign or leading zeros.

    Absent (or empty, which CIRCUS treats as absent) gives `default`; a repeated parameter is
    not a string for CIRCUS either, so it is `Invalid string` too.
    """
    if not values or values == [""]:
        return default
    if len(values) > 1 or not _IMAGE_NUMBER.fullmatch(values[0]):
        raise BadRequest("Invalid string")
    return int(values[0]) if len(values[0]) <= _MAX_DIGITS else -1


def _image_segments(images: object) -> list[Segment]:
    try:
        return parse_segments(images) if isinstance(images, str) else []
    except ValueError:  # a corrupt range holds no usable image
        return []


async def orientation(
    db: AsyncDatabase,
    dicom_dir: Path,
    privileges: Privileges,
    series_uid: str,
    start_values: Sequence[str],
    end_values: Sequence[str],
) -> dict[str, str]:
    """`GET /series/:uid/orientation` in CIRCUS's order: 404, `Invalid string`, bounds (before
    the domain check), 403, then the resolution of spec 5.3 (its failures are 500s)."""
    series = await series_db.find(db, series_uid)
    if series is None:
        raise NotFound(NOT_FOUND)
    segments = _image_segments(series.get("images"))
    start = parse_image_number(start_values, segments[0][0] if segments else None)
    end = parse_image_number(end_values, segments[-1][1] if segments else None)
    if not all(n is not None and any(low <= n <= high for low, high in segments) for n in (start, end)):
        raise BadRequest("The given start/end number is out of bounds.")
    assert start is not None and end is not None  # checked just above
    _check_domain(privileges, series)
    try:
        pvd = await anyio.to_thread.run_sync(resolve_orientation, dicom_dir, series_uid, start, end)
    except ImagingError as exc:
        raise CircusError(str(exc), 500) from exc
    return {"orientation": orientation_name(pvd)}


# ---- deletion --------------------------------------------------------------------------------


async def delete(
    client: AsyncMongoClient,
    db: AsyncDatabase,
    dicom_dir: Path,
    privileges: Privileges,
    series_uid: str,
    max_commit_ms: int,
) -> None:
    """Delete a series no job or case refers to (one transaction), then its DICOM files.

    Re-impl: the caller's domains must include the series' domain (403); the route itself
    requires `manageServer`.
    """

    async def remove(session: AsyncClientSession) -> None:
        series = await series_db.find(db, series_uid, session)
        if series is None:
            raise NotFound(NOT_FOUND)
        _check_domain(privileges, series)
        if await plugin_jobs.references_series(db, series_uid, session):
            raise BadRequest("There is a plug-in job associated with this series.")
        if await clinical_cases.references_series(db, series_uid, session):
            raise BadRequest("There is a case associated with this series.")
        await series_db.delete(db, series_uid, session)

    await with_transaction(client, remove, max_commit_ms)
    # only after the commit: the callback may run more than once, or be rolled back
    await anyio.to_thread.run_sync(_delete_files, dicom_dir, series_uid)


def _delete_files(dicom_dir: Path, series_uid: str) -> None:
    if not is_valid_uid(series_uid):  # a legacy UID never named a folder of the repository
        log.warning("series files not looked for", extra={"series_uid": series_uid})
        return
    delete_series(dicom_dir, series_uid)


# ---- CS volume export ------------------------------------------------------------------------


def _pvd_json(pvd: Mapping[str, Any]) -> str:
    """The descriptor as JavaScript's JSON.stringify prints it (`3`, not `3.0`)."""
    plain = {k: int(v) if isinstance(v, float) and v.is_integer() else v for k, v in pvd.items()}
    return json.dumps(plain, separators=(",", ":"))


async def check_export(
    db: AsyncDatabase, privileges: Privileges, entries: Sequence[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Re-impl of spec 4.5 #19: every series exists (400), is in the caller's domains (403), and
    its descriptor is valid and inside its images (400), before a task is created. Returns the
    entries with integer descriptors, as the task receives them."""
    found = {s["seriesUid"]: s for s in await series_db.find_many(db, [e["seriesUid"] for e in entries])}
    checked = []
    for entry in entries:
        series = found.get(entry["seriesUid"])
        if series is None:
            raise BadRequest("Nonexistent series.")
        _check_domain(privileges, series)
        pvd = entry["partialVolumeDescriptor"]
        if not validate_pvd(pvd):
            raise BadRequest(f"Invalid partial volume descriptor: {_pvd_json(pvd)}")
        try:
            fits = pvd_fits(pvd, series.get("images") or "")
        except ValueError:  # a corrupt range
            fits = False
        if not fits:
            raise BadRequest("Specified range is invalid.")
        checked.append({
            "seriesUid": entry["seriesUid"],
            "partialVolumeDescriptor": {key: int(pvd[key]) for key in ("start", "end", "delta")},
        })
    return checked


async def export_cs_volume(
    db: AsyncDatabase,
    redis: aioredis.Redis | None,
    user_email: str,
    privileges: Privileges,
    entries: Sequence[Mapping[str, Any]],
    compression_format: str = "tgz",
) -> str:
    """Check the request, then register the `Export DICOM data` task; returns its ID."""
    checked = await check_export(db, privileges, entries)
    return await task_service.register(
        db,
        redis,
        user_email,
        cs_volume_export.TASK_NAME,
        lambda task_id: actors.export_cs_volume.send(task_id, checked, compression_format),
        cs_volume_export.DOWNLOAD_TYPES[compression_format],
    )
