"""The `users` collection (spec 6.1), keyed by `userEmail`."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from circus_api.db.documents import NO_ID, DuplicateKey, duplicate_key_field, stamped, utcnow

COLLECTION = "users"


async def find(db: AsyncDatabase, user_email: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"userEmail": user_email}, NO_ID)


async def find_by_email_or_login(db: AsyncDatabase, name: str) -> list[dict[str, Any]]:
    """Users whose e-mail or login ID equals `name` exactly (case-sensitive, as CIRCUS)."""
    cursor = db[COLLECTION].find({"$or": [{"userEmail": name}, {"loginId": name}]}, NO_ID)
    return await cursor.to_list()


async def count(db: AsyncDatabase) -> int:
    return await db[COLLECTION].count_documents({})


async def insert(db: AsyncDatabase, user: dict[str, Any]) -> None:
    try:
        await db[COLLECTION].insert_one(stamped(user))
    except DuplicateKeyError as exc:
        raise DuplicateKey(duplicate_key_field(exc.details)) from exc


async def update(db: AsyncDatabase, user_email: str, fields: dict[str, Any]) -> bool:
    """Set fields (and `updatedAt`); False when no such user."""
    try:
        result = await db[COLLECTION].update_one(
            {"userEmail": user_email}, {"$set": {**fields, "updatedAt": utcnow()}}
        )
    except DuplicateKeyError as exc:
        raise DuplicateKey(duplicate_key_field(exc.details)) from exc
    return result.matched_count > 0


async def record_login(db: AsyncDatabase, user_email: str, when: dt.datetime, ip: str) -> None:
    await db[COLLECTION].update_one(
        {"userEmail": user_email}, {"$set": {"lastLoginTime": when, "lastLoginIp": ip}}
    )


async def find_editable_lists(db: AsyncDatabase, user_email: str, group_ids: list[int]) -> list[dict[str, Any]]:
    """Users owning a my list whose editors name `user_email` or one of `group_ids`."""
    query = {
        "$or": [
            {"myLists.editors.userEmail": user_email},
            {"myLists.editors.groupId": {"$in": group_ids}},
        ]
    }
    return await db[COLLECTION].find(query, {**NO_ID, "userEmail": 1, "myLists": 1}).to_list()


async def list_all(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await db[COLLECTION].find({}, NO_ID).sort("createdAt", 1).to_list()


# ---- my-list subdocuments (spec 4.8, 6.1): the descriptive half of a my list -----------------


async def existing_emails(db: AsyncDatabase, emails: list[str], session: AsyncClientSession | None = None) -> set[str]:
    docs = await db[COLLECTION].find({"userEmail": {"$in": emails}}, {"userEmail": 1}, session=session).to_list()
    return {doc["userEmail"] for doc in docs}


async def find_my_list(
    db: AsyncDatabase, my_list_id: str, session: AsyncClientSession | None = None
) -> tuple[str, dict[str, Any]] | None:
    """The owner's e-mail and the subdocument of a my list of any user; None when nobody owns it."""
    owner = await db[COLLECTION].find_one(
        {"myLists.myListId": my_list_id}, {**NO_ID, "userEmail": 1, "myLists": 1}, session=session
    )
    if owner is None:
        return None
    entry = next(e for e in owner["myLists"] if e.get("myListId") == my_list_id)
    return str(owner["userEmail"]), entry


async def push_my_list(db: AsyncDatabase, user_email: str, entry: dict[str, Any], session: AsyncClientSession) -> None:
    await db[COLLECTION].update_one(
        {"userEmail": user_email}, {"$push": {"myLists": entry}, "$set": {"updatedAt": utcnow()}}, session=session
    )


async def set_my_list_fields(
    db: AsyncDatabase, user_email: str, my_list_id: str, fields: dict[str, Any], session: AsyncClientSession
) -> None:
    changes = {f"myLists.$.{name}": value for name, value in fields.items()}
    await db[COLLECTION].update_one(
        {"userEmail": user_email, "myLists.myListId": my_list_id},
        {"$set": {**changes, "updatedAt": utcnow()}},
        session=session,
    )


async def pull_my_list(db: AsyncDatabase, user_email: str, my_list_id: str, session: AsyncClientSession) -> None:
    await db[COLLECTION].update_one(
        {"userEmail": user_email},
        {"$pull": {"myLists": {"myListId": my_list_id}}, "$set": {"updatedAt": utcnow()}},
        session=session,
    )
