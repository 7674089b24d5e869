"""My lists (spec 4.8, 6.9): the item documents of collection `myLists`, keyed by `myListId`, and
the descriptive subdocuments that live in their owner's `users.myLists`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import users
from circus_api.db.documents import NO_ID, stamped, utcnow

COLLECTION = "myLists"


async def find(
    db: AsyncDatabase, my_list_id: str, session: AsyncClientSession | None = None
) -> dict[str, Any] | None:
    """The item document `{myListId, items: [{resourceId, createdAt}]}`."""
    return await db[COLLECTION].find_one({"myListId": my_list_id}, NO_ID, session=session)


async def find_own_list(db: AsyncDatabase, user_email: str, my_list_id: str) -> dict[str, Any] | None:
    """The subdocument of one of the user's **own** lists (`myListId`, `resourceType`, `name`,
    `public`, `editors`, `createdAt`); None for unknown lists and lists owned by someone else."""
    owner = await db[users.COLLECTION].find_one(
        {"userEmail": user_email, "myLists.myListId": my_list_id}, {**NO_ID, "myLists": 1}
    )
    if owner is None:
        return None
    return next((entry for entry in owner["myLists"] if entry.get("myListId") == my_list_id), None)


# ---- writes of the my-list handlers (spec 4.8); they run in a transaction --------------------


async def insert(db: AsyncDatabase, my_list_id: str, session: AsyncClientSession) -> None:
    await db[COLLECTION].insert_one(stamped({"myListId": my_list_id, "items": []}), session=session)


async def push_items(
    db: AsyncDatabase, my_list_id: str, items: list[dict[str, Any]], session: AsyncClientSession
) -> None:
    await db[COLLECTION].update_one(
        {"myListId": my_list_id}, {"$push": {"items": {"$each": items}}, "$set": {"updatedAt": utcnow()}},
        session=session,
    )


async def pull_items(db: AsyncDatabase, my_list_id: str, resource_ids: list[str], session: AsyncClientSession) -> None:
    await db[COLLECTION].update_one(
        {"myListId": my_list_id},
        {"$pull": {"items": {"resourceId": {"$in": resource_ids}}}, "$set": {"updatedAt": utcnow()}},
        session=session,
    )


async def delete(db: AsyncDatabase, my_list_id: str, session: AsyncClientSession) -> None:
    await db[COLLECTION].delete_one({"myListId": my_list_id}, session=session)


async def existing_resources(
    db: AsyncDatabase, collection: str, key_field: str, resource_ids: list[str], session: AsyncClientSession
) -> set[str]:
    """Which of `resource_ids` exist as `key_field` in `collection` (series, cases or jobs)."""
    cursor = db[collection].find({key_field: {"$in": resource_ids}}, {key_field: 1}, session=session)
    return {doc[key_field] for doc in await cursor.to_list()}


async def contains_resource(db: AsyncDatabase, resource_id: str, session: AsyncClientSession) -> bool:
    """Whether any my list holds the resource (a case, series or job ID)."""
    return await db[COLLECTION].find_one({"items.resourceId": resource_id}, {"_id": 1}, session=session) is not None


async def remove_resource_everywhere(db: AsyncDatabase, resource_id: str, session: AsyncClientSession) -> None:
    """Take the resource out of every my list that holds it."""
    await db[COLLECTION].update_many(
        {"items.resourceId": resource_id},
        {"$pull": {"items": {"resourceId": resource_id}}, "$set": {"updatedAt": utcnow()}},
        session=session,
    )
