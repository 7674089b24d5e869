"""Plug-in jobs (spec 4.10 #40-#44, 4.11 #51/#80, plugins-and-jobs 2): registration, cancel and
invalidate, search, and the queue listings. Feedback and attachments live elsewhere.

Registration runs every check of CIRCUS (plus the `executePlugin` role and the job manager's
coverage check, both Re-impl) and then writes the job document and its queue row in ONE
transaction: CIRCUS enqueued outside its transaction, before the document existed, so a failed
or retried request could leave an orphan queue row.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_definitions, plugin_jobs
from circus_api.db import series as series_db
from circus_api.db.ids import new_ulid
from circus_api.db.transactions import with_transaction
from circus_api.errors import BadRequest, NotFound, Unauthorized, Unprocessable
from circus_api.imaging.dicom_files import image_numbers
from circus_api.imaging.errors import InvalidUidError
from circus_api.imaging.ranges import format_range, pvd_fits
from circus_api.privileges import Privileges, shows_personal_info
from circus_api.search import SearchRequest, run_my_list_search, run_pipeline_search
from circus_api.services import series_selection
from circus_api.services.plugins import NOT_FOUND as PLUGIN_NOT_FOUND
from circus_api.services.series_selection import JOB_RULES
from circus_api.settings import Settings
from job_manager import queue

JOB_NOT_FOUND = "This job does not exist."
# jobs in these states do not make a new request a duplicate (spec 2.3)
NOT_DUPLICATED_BY = ["invalidated", "failed", "cancelled"]
_PVD_KEYS = ("start", "end", "delta")


# ---- registration (#40 and the register-plugin-job CLI) ---------------------------------------


def _same_request(stored: Sequence[Mapping[str, Any]], requested: Sequence[Mapping[str, Any]]) -> bool:
    """Same length, and position by position the same series and descriptor start/end/delta."""
    if len(stored) != len(requested):
        return False
    for old, new in zip(stored, requested, strict=True):
        old_pvd, new_pvd = old.get("partialVolumeDescriptor") or {}, new.get("partialVolumeDescriptor") or {}
        if old.get("seriesUid") != new.get("seriesUid"):
            return False
        if any(old_pvd.get(key) != new_pvd.get(key) for key in _PVD_KEYS):
            return False
    return True


async def _duplicate_exists(
    db: AsyncDatabase, plugin_id: str, entries: Sequence[Mapping[str, Any]], session: AsyncClientSession
) -> bool:
    first_uid = str(entries[0]["seriesUid"])
    candidates = await plugin_jobs.find_with_series(db, plugin_id, first_uid, NOT_DUPLICATED_BY, session)
    return any(_same_request(job.get("series") or [], entries) for job in candidates)


def _job_series(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A checked entry as stored: integer descriptor (a JavaScript client sends `1.0`), the
    optional `requiredPrivateTags` kept."""
    stored = {
        "seriesUid": entry["seriesUid"],
        "partialVolumeDescriptor": {key: int(entry["partialVolumeDescriptor"][key]) for key in _PVD_KEYS},
    }
    if "requiredPrivateTags" in entry:
        stored["requiredPrivateTags"] = entry["requiredPrivateTags"]
    return stored


def _stored_images(dicom_dir: Path, series_uid: str) -> list[int]:
    try:
        return image_numbers(dicom_dir, series_uid)
    except InvalidUidError:  # a legacy UID never named a folder of the repository
        return []


async def check_coverage(dicom_dir: Path, series: Sequence[Mapping[str, Any]]) -> None:
    """The job manager's registerer check (plugins-and-jobs 2.4 step 4; Re-impl 400): the DICOM
    repository holds every image each descriptor selects (CIRCUS's walk skipped `end`)."""
    for entry in series:
        series_uid = str(entry["seriesUid"])
        numbers = await anyio.to_thread.run_sync(_stored_images, dicom_dir, series_uid)
        if not numbers:
            raise BadRequest(f"Series {series_uid} not found.")
        stored = format_range(numbers)
        if not pvd_fits(entry["partialVolumeDescriptor"], stored):
            raise BadRequest(
                f"Series {series_uid} does not contain enough images specified by the "
                f"partialVolumeDescriptor.\nImages in the repository: {stored}"
            )


async def register(
    db: AsyncDatabase, settings: Settings, user_email: str, privileges: Privileges, body: Mapping[str, Any]
) -> str:
    """Create a job (one transaction, CIRCUS's order of checks); returns the new job ID.

    `body` is the request of #40: `{pluginId, series, priority?, force?}`; a descriptor may be
    `"auto"`, or None (the CLI default: the first image segment, delta 1).
    """
    plugin_id = str(body["pluginId"])
    force = body.get("force") is True
    job_id = new_ulid()  # outside the callback: a retried transaction inserts the same ID

    async def insert(session: AsyncClientSession) -> None:
        entries = await series_selection.resolve_descriptors(
            db, settings.dicom_dir, body["series"], JOB_RULES, session
        )
        if await plugin_definitions.find(db, plugin_id, session) is None:
            raise NotFound(PLUGIN_NOT_FOUND)
        # Re-impl: CIRCUS let anyone run any plug-in (the web UI only hid the button)
        privileges.require_plugin_roles(plugin_id, "executePlugin")
        if not force and await _duplicate_exists(db, plugin_id, entries, session):
            raise BadRequest("There is a duplicate job that is already registered.")
        await series_selection.check_series(db, entries, privileges.domains, JOB_RULES, session)
        series = [_job_series(entry) for entry in entries]
        await check_coverage(settings.dicom_dir, series)
        payload: dict[str, Any] = {"pluginId": plugin_id, "series": series, **({"force": True} if force else {})}
        await queue.enqueue(db, job_id, payload, int(body.get("priority") or 0), session=session)
        await plugin_jobs.insert(db, {
            "jobId": job_id,
            "pluginId": plugin_id,
            "series": series,
            "userEmail": user_email,
            "status": "in_queue",
            "errorMessage": None,
            "results": None,
            "startedAt": None,
            "finishedAt": None,
            "feedbacks": [],
        }, session)

    await with_transaction(db.client, insert, settings.transaction_max_commit_ms)
    return job_id


async def register_from_cli(
    db: AsyncDatabase,
    settings: Settings,
    user_email: str,
    privileges: Privileges,
    plugin: str,
    entries: Sequence[Mapping[str, Any]],
    priority: int = 0,
) -> str:
    """The `register-plugin-job` CLI (spec 8): `plugin` is a plug-in ID or an exact name; the
    duplicate rule applies (no force)."""
    found = await plugin_definitions.find(db, plugin) or await plugin_definitions.find_by_name(db, plugin)
    if found is None:
        raise NotFound("Specified plugin does not exist.")
    body = {"pluginId": found["pluginId"], "series": list(entries), "priority": priority}
    return await register(db, settings, user_email, privileges, body)


# ---- cancel and invalidate (#41) -------------------------------------------------------------

_TRANSITIONS = {"cancelled": ("cancel", "in_queue"), "invalidated": ("invalidate", "finished")}


async def change_status(
    db: AsyncDatabase, settings: Settings, privileges: Privileges, job: Mapping[str, Any], status: str
) -> None:
    """Cancel a waiting job (its queue row goes too) or invalidate a finished one; the route
    already checked `executePlugin` and the domains. Any holder of the role may do it."""
    job_id = str(job["jobId"])
    if status == "invalidated" and "manageJobs" not in privileges.plugin_roles(job["pluginId"]):
        raise Unauthorized("You do not have permission to invalidate this job.")
    verb, required = _TRANSITIONS[status]

    async def apply(session: AsyncClientSession) -> None:
        current = await plugin_jobs.find(db, job_id, session)
        if current is None:
            raise NotFound(JOB_NOT_FOUND)
        if current.get("status") != required:
            raise Unprocessable(f'You cannot {verb} this job because its status is "{current.get("status")}".')
        # a manager that claimed the row holds it as `processing`: too late to cancel
        if status == "cancelled" and not await queue.remove_waiting(db, job_id, session=session):
            raise Unprocessable("You cannot cancel this job because it is already being processed.")
        await plugin_jobs.change_status(db, job_id, required, status, session)

    await with_transaction(db.client, apply, settings.transaction_max_commit_ms)


# ---- search (#42, #43; spec 3.4) -------------------------------------------------------------

COUNT_CAP = 10_000
# helper fields built from the joined series; `domain` and `patientInfo` are returned (shaped)
_HIDDEN_HELPERS = ["seriesUid", "studyUid", "seriesDate", "modality"]
_JOINED = "_joinedSeries"
_UIDS = "_seriesUids"


def check_sort_parameter(values: Sequence[str]) -> None:
    """CIRCUS's job search refuses a `sort` that is present but empty or not JSON with its own
    message; the general sort rules (search.parse_sort) apply after this."""
    if not values:
        return
    try:
        parsed = json.loads(values[0])
    except ValueError:
        raise BadRequest("Invalid sort parameter.") from None
    if parsed == {}:  # MongoDB refuses an empty $sort (CIRCUS: 500)
        raise BadRequest("Invalid sort parameter.")


def _join_stages(personal_info_plugins: list[str]) -> list[dict[str, Any]]:
    """Join each job's series into array-valued helper fields, in the job's series order.

    SecantusDB-safe (infrastructure.md 2): the lookup runs on a flat array of UIDs built with
    `$map`, and fields of the joined series are read with `$map`, never `$joined.field`."""

    def each(field: str) -> dict[str, Any]:
        return {"$map": {"input": f"${_JOINED}", "as": "s", "in": f"$$s.{field}"}}

    return [
        {"$addFields": {_UIDS: {"$map": {"input": "$series", "as": "s", "in": "$$s.seriesUid"}}}},
        {"$lookup": {"from": series_db.COLLECTION, "localField": _UIDS, "foreignField": "seriesUid", "as": _JOINED}},
        # the lookup returns series in collection order: put them back in the job's order
        {"$addFields": {_JOINED: {"$reduce": {
            "input": {"$map": {"input": f"${_UIDS}", "as": "uid", "in": {
                "$filter": {"input": f"${_JOINED}", "as": "j", "cond": {"$eq": ["$$j.seriesUid", "$$uid"]}}
            }}},
            "initialValue": [],
            "in": {"$concatArrays": ["$$value", "$$this"]},
        }}}},
        {"$addFields": {
            **{field: each(field) for field in [*_HIDDEN_HELPERS, "domain"]},
            # layer 1 of spec 2.4: joined only for plug-ins with readPlugin + viewPersonalInfo
            "patientInfo": {"$cond": [{"$in": ["$pluginId", personal_info_plugins]}, each("patientInfo"), None]},
        }},
    ]


async def search(
    db: AsyncDatabase,
    user: Mapping[str, Any],
    privileges: Privileges,
    request: SearchRequest,
    my_list_id: str | None = None,
) -> dict[str, Any]:
    """`GET /plugin-jobs`, or the jobs of a my list checked with `search.own_my_list`."""
    pre_stages: list[dict[str, Any]] = [{"$match": {"pluginId": {"$in": privileges.plugins_with("readPlugin")}}}]
    if any(key == "createdAt" for key, _ in request.sort):
        # sorted before the joins (index use); the facet then keeps that order
        pre_stages.append({"$sort": dict(request.sort)})
        request = replace(request, sort=[])
    join = _join_stages(privileges.plugins_with("readPlugin", "viewPersonalInfo"))
    access = {"domain": {"$in": privileges.domains}}  # at least one series in the caller's domains
    remove = ["results", _UIDS, _JOINED, *_HIDDEN_HELPERS]
    shown = shows_personal_info(dict(user), privileges)

    def shape(item: dict[str, Any]) -> dict[str, Any]:
        domains = item.get("domain") or [None]
        item["domain"] = domains[0]
        infos = item.pop("patientInfo", None) or [None]
        if shown and infos[0] is not None:  # layer 2 of spec 2.4
            item["patientInfo"] = infos[0]
        return item

    options: dict[str, Any] = {
        "access_filter": access, "remove_fields": remove, "count_cap": COUNT_CAP, "shape": shape,
        "pre_stages": pre_stages,
    }
    if my_list_id is not None:
        return await run_my_list_search(db, my_list_id, "pluginJobs", request, join, **options)
    return await run_pipeline_search(db[plugin_jobs.COLLECTION], request, join, **options)


# ---- queue listings (#51, #80) ---------------------------------------------------------------

QUEUE_STATES: tuple[queue.ListState, ...] = ("wait", "processing", "all")


def queue_state(values: Sequence[str]) -> queue.ListState:
    """The `state` query value; anything else (or nothing) is the queue's default, `wait`."""
    for state in QUEUE_STATES:
        if values and values[0] == state:
            return state
    return "wait"


async def list_queue(
    db: AsyncDatabase, state: queue.ListState, limit: int, page: int, user_email: str | None = None
) -> dict[str, Any]:
    """One page of queue rows in queue order, each replaced by its job document (404 for the
    whole request if one is missing); `user_email` keeps only the jobs that user registered."""
    skip = limit * (page - 1)
    if user_email is None:
        rows = await queue.list_queue(db, state, skip, limit)
        total = await queue.count(db, state)
    else:
        rows, total = await queue.list_for_user(db, user_email, state, skip, limit)
    found = {job["jobId"]: job for job in await plugin_jobs.find_many(db, [row["jobId"] for row in rows])}
    if any(row["jobId"] not in found for row in rows):
        raise NotFound(JOB_NOT_FOUND)
    return {"items": [found[row["jobId"]] for row in rows], "page": page, "totalItems": total}
