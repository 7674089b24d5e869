"""The series entries of a new case or plug-in job: resolve their descriptors, then check them.

Shared by `POST /cases` (spec 4.6 #22 steps 2 and 4-7), `POST /plugin-jobs` (4.10 #40 steps 1
and 4-5) and the `register-case` / `register-plugin-job` CLIs (spec 8). Cases and jobs differ
only in the statuses of some failures and in where the domain check falls; `SelectionRules`
carries that difference. Checks run inside the caller's transaction: each series is
pseudo-locked (spec 5.8) so a concurrent deletion conflicts with the creation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import series as series_db
from circus_api.db.transactions import lock
from circus_api.errors import BadRequest, CircusError
from circus_api.imaging.errors import ImagingError
from circus_api.imaging.orientation import auto_pvd
from circus_api.imaging.ranges import first_segment, pvd_fits, validate_pvd

AUTO = "auto"


@dataclass(frozen=True)
class SelectionRules:
    """How a creation reports the failures whose status differs between cases and jobs."""

    # an `auto` (or omitted) descriptor names a series that does not exist
    unknown_series_status: int = 404
    unknown_series_message: str = "This series does not exist."
    # a series outside the caller's domains
    foreign_domain_status: int = 403
    foreign_domain_message: str = "You do not have privilege to access this series."
    # jobs check the domain inside the per-series loop, cases after it (spec 4.10 #40 step 4)
    domain_checked_per_series: bool = False


CASE_RULES = SelectionRules()
# job creation answers every series failure with a 400 (spec 4.10 #40 step 4), `auto` ones too
JOB_RULES = SelectionRules(
    unknown_series_status=400, unknown_series_message="Nonexistent series.",
    foreign_domain_status=400, foreign_domain_message="You cannot access this series.", domain_checked_per_series=True
)


def descriptor_json(pvd: object) -> str:
    """The descriptor as JavaScript's JSON.stringify prints it in CIRCUS's messages (`3`, not `3.0`)."""

    def plain(value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items()}
        return value

    return json.dumps(plain(pvd), separators=(",", ":"), ensure_ascii=False)


async def resolve_descriptors(
    db: AsyncDatabase,
    dicom_dir: Path,
    entries: Sequence[Mapping[str, Any]],
    rules: SelectionRules,
    session: AsyncClientSession | None = None,
) -> list[dict[str, Any]]:
    """Copies of the entries with concrete descriptors.

    `"auto"` becomes the head-to-foot orientation of the first contiguous image segment (spec
    5.3; DICOM headers are read in a worker thread). `None` (no descriptor given, the CLIs)
    becomes that segment ascending with delta 1. Other descriptors pass through unchecked.
    """
    resolved = []
    for entry in entries:
        pvd = entry.get("partialVolumeDescriptor")
        if pvd == AUTO or pvd is None:
            pvd = await _default_descriptor(db, dicom_dir, str(entry["seriesUid"]), pvd == AUTO, rules, session)
        resolved.append({**entry, "partialVolumeDescriptor": pvd})
    return resolved


async def _default_descriptor(
    db: AsyncDatabase,
    dicom_dir: Path,
    series_uid: str,
    detect_orientation: bool,
    rules: SelectionRules,
    session: AsyncClientSession | None,
) -> dict[str, int]:
    series = await series_db.find(db, series_uid, session)
    if series is None:
        raise CircusError(rules.unknown_series_message, rules.unknown_series_status)
    images = series.get("images") or ""
    try:
        segment = first_segment(images)
        if segment is None:
            raise ImagingError("empty series")
        if not detect_orientation:
            return {"start": segment[0], "end": segment[1], "delta": 1}
        return await anyio.to_thread.run_sync(auto_pvd, dicom_dir, series_uid, images)
    except (ImagingError, ValueError) as exc:
        # CIRCUS answers these (`Empty series`, `no image`, `invalid image`) with a 500
        raise BadRequest(f"Cannot determine the partial volume descriptor of series {series_uid}: {exc}.") from exc


def check_descriptors(entries: Sequence[Mapping[str, Any]], status: int = 400) -> None:
    """Every descriptor obeys the validity rules of spec 5.1."""
    for entry in entries:
        pvd = entry.get("partialVolumeDescriptor")
        if not validate_pvd(pvd):
            raise CircusError(f"Invalid partial volume descriptor: {descriptor_json(pvd)}", status)


async def check_series(
    db: AsyncDatabase,
    entries: Sequence[Mapping[str, Any]],
    user_domains: Sequence[str],
    rules: SelectionRules,
    session: AsyncClientSession,
) -> str:
    """Each series exists, its descriptor is valid and inside its images, it is in one of the
    caller's domains, and all share one domain, which is returned. Each series is pseudo-locked."""
    if not entries:
        raise BadRequest("No series specified.")
    domains: list[str] = []
    for entry in entries:
        series_uid = entry["seriesUid"]
        series = await series_db.find(db, series_uid, session)
        if series is None:
            raise BadRequest("Nonexistent series.")
        pvd = entry.get("partialVolumeDescriptor")
        if not validate_pvd(pvd):
            raise BadRequest(f"Invalid partial volume descriptor: {descriptor_json(pvd)}")
        assert isinstance(pvd, Mapping)  # validate_pvd accepts mappings only
        if not _fits(pvd, series.get("images")):
            raise BadRequest("Specified range is invalid.")
        await lock(db, series_db.COLLECTION, {"seriesUid": series_uid}, session)
        domains.append(series.get("domain", ""))
        if rules.domain_checked_per_series:
            _check_domain(domains[-1], user_domains, rules)
    if not rules.domain_checked_per_series:
        for domain in domains:
            _check_domain(domain, user_domains, rules)
    if any(domain != domains[0] for domain in domains):
        raise BadRequest("All series must belong to the same domain.")
    return domains[0]


def _fits(pvd: Mapping[str, Any], images: object) -> bool:
    try:
        return isinstance(images, str) and pvd_fits(pvd, images)
    except ValueError:  # a corrupt (legacy) range holds no usable image
        return False


def _check_domain(domain: str, user_domains: Sequence[str], rules: SelectionRules) -> None:
    if domain not in user_domains:
        raise CircusError(rules.foreign_domain_message, rules.foreign_domain_status)
