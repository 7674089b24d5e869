"""My lists (spec 4.8): the rules of endpoints 31-36.

A my list has two halves that change together: the subdocument in its owner's `users.myLists`
(name, resourceType, public, editors) and the item document in `myLists`. Endpoints 32-36 run in
one transaction each; 32 and 34-36 pseudo-lock the owner's user document and the item document so
that concurrent changes to one list are serialised by SecantusDB/MongoDB write conflicts, which the
driver retries (TransientTransactionError). Callbacks may therefore run more than once: they only
touch MongoDB, and IDs and timestamps are made before the transaction starts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import groups, my_lists, users
from circus_api.db.documents import utcnow
from circus_api.db.ids import new_ulid
from circus_api.db.transactions import lock, with_transaction
from circus_api.errors import BadRequest, NotFound, Unauthorized
from circus_api.schemas.my_lists import MAX_ITEMS
from circus_api.search import MY_LIST_RESOURCES

NOT_FOUND = "This my list does not exist"
_MISSING_RESOURCE_NAMES = {"series": "series UID", "clinicalCases": "case ID", "pluginJobs": "job ID"}


async def list_own(db: AsyncDatabase, user_email: str) -> list[dict[str, Any]]:
    """31: the caller's own my-list subdocuments (no items)."""
    user = await users.find(db, user_email)
    return list((user or {}).get("myLists") or [])


async def get(db: AsyncDatabase, user_email: str, my_list_id: str) -> dict[str, Any]:
    """32: the subdocument plus `resourceIds`; readable by the owner, or by anyone when public."""

    async def run(session: AsyncClientSession) -> dict[str, Any]:
        owner, my_list = await _locked_list(db, my_list_id, session)
        item_doc = await _item_document(db, my_list_id, session)
        if owner != user_email and my_list.get("public") is not True:
            raise Unauthorized("You cannot read the items of this my list.")
        return {**my_list, "resourceIds": [item["resourceId"] for item in item_doc.get("items", [])]}

    return await with_transaction(db.client, run)


async def create(db: AsyncDatabase, user_email: str, name: str, resource_type: str, public: bool) -> str:
    """33: a new empty list of the caller. No pseudo-lock: concurrent creations by one user conflict
    on the `$push` to the user document and the driver retries them."""
    my_list_id = new_ulid()
    entry = {
        "myListId": my_list_id, "resourceType": resource_type, "name": name, "public": public,
        "editors": [], "createdAt": utcnow(),
    }

    async def run(session: AsyncClientSession) -> None:
        await my_lists.insert(db, my_list_id, session)
        await users.push_my_list(db, user_email, entry, session)

    await with_transaction(db.client, run)
    return my_list_id


async def update(db: AsyncDatabase, user_email: str, my_list_id: str, changes: dict[str, Any]) -> None:
    """34: rename, change `public` or replace `editors`; the owner only."""

    async def run(session: AsyncClientSession) -> None:
        owner, _ = await _locked_list(db, my_list_id, session)
        if owner != user_email:
            raise Unauthorized("You cannot edit a my list you do not own")
        if "editors" in changes:
            await _check_editors_exist(db, changes["editors"], session)
        await users.set_my_list_fields(db, owner, my_list_id, changes, session)

    await with_transaction(db.client, run)


async def delete(db: AsyncDatabase, user_email: str, my_list_id: str) -> None:
    """35: remove both halves; the owner only."""

    async def run(session: AsyncClientSession) -> None:
        owner, _ = await _locked_list(db, my_list_id, session)
        if owner != user_email:
            raise Unauthorized("You cannot delete a my list you do not own")
        await my_lists.delete(db, my_list_id, session)
        await users.pull_my_list(db, owner, my_list_id, session)

    await with_transaction(db.client, run)


async def change_items(
    db: AsyncDatabase, user_email: str, group_ids: list[int], my_list_id: str, operation: str,
    resource_ids: list[str],
) -> dict[str, int]:
    """36: add or remove items; the owner or an editor (by e-mail or group). The caller's access to
    the resources themselves is not checked (spec)."""
    now = utcnow()

    async def run(session: AsyncClientSession) -> dict[str, int]:
        owner, my_list = await _locked_list(db, my_list_id, session)
        item_doc = await _item_document(db, my_list_id, session)
        if not (owner == user_email or _is_editor(my_list, user_email, group_ids)):
            raise Unauthorized("You cannot edit the items of this my list.")
        current = [item["resourceId"] for item in item_doc.get("items", [])]
        if operation == "add":
            changed = await _add(db, my_list_id, my_list["resourceType"], current, resource_ids, now, session)
        else:
            changed = await _remove(db, my_list_id, current, resource_ids, session)
        return {"changedCount": changed}

    return await with_transaction(db.client, run)


async def _add(
    db: AsyncDatabase, my_list_id: str, resource_type: str, current: list[str], resource_ids: list[str],
    now: dt.datetime, session: AsyncClientSession,
) -> int:
    requested = list(dict.fromkeys(resource_ids))  # repeats within the request count once, order kept
    resource = MY_LIST_RESOURCES[resource_type]
    found = await my_lists.existing_resources(db, resource.collection, resource.key_field, requested, session)
    missing = [rid for rid in requested if rid not in found]
    if missing:
        raise NotFound(f"Nonexistent {_MISSING_RESOURCE_NAMES[resource_type]}: {', '.join(missing)}")
    # a concurrent deletion of one of these resources now conflicts with this transaction
    await lock(db, resource.collection, {resource.key_field: {"$in": requested}}, session)
    present = set(current)
    new_ids = [rid for rid in requested if rid not in present]
    if len(current) + len(new_ids) > MAX_ITEMS:
        raise BadRequest(f"The number of items cannot exceed {MAX_ITEMS}")
    if new_ids:
        await my_lists.push_items(db, my_list_id, [{"resourceId": rid, "createdAt": now} for rid in new_ids], session)
    return len(new_ids)


async def _remove(
    db: AsyncDatabase, my_list_id: str, current: list[str], resource_ids: list[str], session: AsyncClientSession
) -> int:
    removing = set(resource_ids)
    changed = sum(1 for rid in current if rid in removing)
    if changed:
        await my_lists.pull_items(db, my_list_id, sorted(removing), session)
    return changed


async def _locked_list(
    db: AsyncDatabase, my_list_id: str, session: AsyncClientSession
) -> tuple[str, dict[str, Any]]:
    """The owner and subdocument of any user's list (404 when nobody owns it), with the owner's
    user document and the item document pseudo-locked (spec 5.8)."""
    found = await users.find_my_list(db, my_list_id, session)
    if found is None:
        raise NotFound(NOT_FOUND)
    owner, my_list = found
    await lock(db, users.COLLECTION, {"userEmail": owner}, session)
    await lock(db, my_lists.COLLECTION, {"myListId": my_list_id}, session)
    return owner, my_list


async def _item_document(db: AsyncDatabase, my_list_id: str, session: AsyncClientSession) -> dict[str, Any]:
    item_doc = await my_lists.find(db, my_list_id, session)
    if item_doc is None:
        raise NotFound(NOT_FOUND)
    return item_doc


def _is_editor(my_list: dict[str, Any], user_email: str, group_ids: list[int]) -> bool:
    # Re-impl (spec 4.1): a group editor matches when it is any one of the caller's groups
    for editor in my_list.get("editors") or []:
        if editor.get("type") == "user" and editor.get("userEmail") == user_email:
            return True
        if editor.get("type") == "group" and editor.get("groupId") in group_ids:
            return True
    return False


async def _check_editors_exist(db: AsyncDatabase, editors: list[dict[str, Any]], session: AsyncClientSession) -> None:
    emails = list({e["userEmail"] for e in editors if e["type"] == "user"})
    if emails and len(await users.existing_emails(db, emails, session)) < len(emails):
        raise BadRequest("Invalid email address is included")
    group_ids = list({e["groupId"] for e in editors if e["type"] == "group"})
    if group_ids and len(await groups.existing_ids(db, group_ids)) < len(group_ids):
        raise BadRequest("Invalid group ID is included")
