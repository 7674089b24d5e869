"""Cases (spec 4.6 #22-24 and #26-28, 5.1, 6.5): creation, revisions, tags and deletion.

Case search (#20, #21) and the MHD export (#25) live elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import BlobStore
from circus_api.db import clinical_cases, my_lists, projects
from circus_api.db.documents import utcnow
from circus_api.db.ids import new_ulid
from circus_api.db.transactions import with_transaction
from circus_api.errors import BadRequest, Forbidden, NotFound, Unauthorized
from circus_api.privileges import Privileges
from circus_api.services import series_selection
from circus_api.services.series_selection import CASE_RULES
from circus_api.settings import Settings

CASE_NOT_FOUND = "This case does not exist."
MAX_TAG_LENGTH = 32
MAX_BULK_CASES = 1000
MAX_BULK_TAGS = 10
_PVD_KEYS = ("start", "end", "delta")


# ---- creation (#22 and the register-case CLI) -----------------------------------------------


async def create(
    db: AsyncDatabase, settings: Settings, user_email: str, privileges: Privileges, body: Mapping[str, Any]
) -> str:
    """Create a case in one transaction, in CIRCUS's order of checks; returns the new case ID.

    `body` is `{projectId, series: [{seriesUid, partialVolumeDescriptor}], tags}`; a descriptor
    may be `"auto"`, or None (the CLI default: the first image segment, delta 1).
    """
    project_id = body["projectId"]
    case_id = new_ulid()  # outside the callback: a retried transaction inserts the same ID

    async def insert(session: AsyncClientSession) -> None:
        if await projects.find(db, project_id) is None:
            raise NotFound("This project does not exist.")
        entries = await series_selection.resolve_descriptors(
            db, settings.dicom_dir, body["series"], CASE_RULES, session
        )
        if "write" not in privileges.project_roles(project_id):
            raise Unauthorized("You do not have write privilege for this project.")
        series_selection.check_descriptors(entries)
        domain = await series_selection.check_series(db, entries, privileges.domains, CASE_RULES, session)
        revision = {
            "creator": user_email,
            "date": utcnow(),
            "description": "Created new case.",
            "attributes": {},
            "status": "draft",
            "series": [
                {
                    "seriesUid": entry["seriesUid"],
                    # integers, as a JavaScript client stores `1.0`
                    "partialVolumeDescriptor": {k: int(entry["partialVolumeDescriptor"][k]) for k in _PVD_KEYS},
                    "labels": [],
                }
                for entry in entries
            ],
        }
        case = {
            "caseId": case_id,
            "projectId": project_id,
            "tags": list(body["tags"]),
            "latestRevision": revision,
            "revisions": [revision],
            "domains": [domain],
        }
        await clinical_cases.insert(db, case, session)

    await with_transaction(db.client, insert, settings.transaction_max_commit_ms)
    return case_id


async def register(
    db: AsyncDatabase,
    settings: Settings,
    user_email: str,
    privileges: Privileges,
    project: str,
    entries: Sequence[Mapping[str, Any]],
    tags: Sequence[str],
) -> str:
    """The `register-case` CLI (spec 8): `project` is a project ID or an exact project name."""
    found = await projects.find(db, project) or await projects.find_by_name(db, project)
    if found is None:
        raise NotFound("Specified project does not exist.")
    body = {"projectId": found["projectId"], "series": list(entries), "tags": list(tags)}
    return await create(db, settings, user_email, privileges, body)


# ---- reading and revisions (#23, #24) -------------------------------------------------------


def case_view(case: Mapping[str, Any]) -> dict[str, Any]:
    """What `GET /cases/:caseId` returns: the document without `latestRevision`."""
    return {key: value for key, value in case.items() if key != "latestRevision"}


def voxel_hashes(revision: Mapping[str, Any]) -> Iterator[str]:
    """The blob hashes the revision's voxel labels refer to (null is an empty label)."""
    for entry in revision.get("series", []):
        for label in entry.get("labels", []):
            if label.get("type") == "voxel" and isinstance(label["data"].get("voxels"), str):
                yield label["data"]["voxels"]


async def add_revision(
    db: AsyncDatabase, blobs: BlobStore, case_id: str, user_email: str, body: Mapping[str, Any]
) -> None:
    """Append a revision (spec 5.1); date and creator come from the server."""
    if "date" in body:
        raise BadRequest("You cannot specify revision date.")
    if "creator" in body:
        raise BadRequest("You cannot specify revision creator.")
    missing = [h for h in dict.fromkeys(voxel_hashes(body)) if not await blobs.exists(h)]
    if missing:
        raise BadRequest(f"Some voxel data are missing ({', '.join(missing)}). Store them first.")
    revision = {"creator": user_email, "date": utcnow(), **body}
    if not await clinical_cases.append_revision(db, case_id, revision):
        raise NotFound(CASE_NOT_FOUND)  # deleted since the privilege check loaded it


# ---- tags (#26, #27) ------------------------------------------------------------------------


def _js_length(text: str) -> int:
    """String length as CIRCUS (JavaScript) counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


async def set_tags(db: AsyncDatabase, case_id: str, tags: list[str]) -> None:
    """Replace the tag list (and bump `updatedAt`); tags are not checked against the project's."""
    if any(_js_length(tag) > MAX_TAG_LENGTH for tag in tags):
        raise BadRequest("Tag length is too large")
    if not await clinical_cases.set_tags(db, case_id, tags):
        raise NotFound(CASE_NOT_FOUND)


async def update_tags(db: AsyncDatabase, privileges: Privileges, body: Mapping[str, Any]) -> None:
    """The bulk edit of many cases' tags; `updatedAt` is left alone (spec 9.30)."""
    operation, tags = body["operation"], body["tags"]
    case_ids = list(dict.fromkeys(body["caseIds"]))
    if len(body["caseIds"]) > MAX_BULK_CASES:
        raise BadRequest("Too many case IDs")
    if len(tags) > MAX_BULK_TAGS:
        raise BadRequest("Too many tags.")
    if operation in ("add", "remove") and not tags:
        raise BadRequest("You must specify at least one tag.")
    if any(_js_length(tag) > MAX_TAG_LENGTH for tag in tags):
        raise BadRequest("The specified tag is too long.")
    project_of = await clinical_cases.project_ids_of(db, case_ids)
    if len(project_of) != len(case_ids):
        raise NotFound("Some case does not exist")
    writable = set(privileges.projects_with("write"))
    if not set(project_of.values()) <= writable:
        raise Unauthorized("You do not have write access to some of the specified cases.")
    await clinical_cases.change_tags(db, case_ids, operation, tags)


# ---- deletion (#28) -------------------------------------------------------------------------


async def delete(db: AsyncDatabase, case_id: str, force: bool, max_commit_ms: int) -> None:
    """Delete a case no my list holds; with `force`, take it out of every my list first."""

    async def remove(session: AsyncClientSession) -> None:
        if force:
            await my_lists.remove_resource_everywhere(db, case_id, session)
        elif await my_lists.contains_resource(db, case_id, session):
            raise Forbidden("This case is in someone's my list.")
        if not await clinical_cases.delete(db, case_id, session):
            raise NotFound(CASE_NOT_FOUND)

    await with_transaction(db.client, remove, max_commit_ms)
