"""Groups and the role-dependency rule of spec 2.1 (checked on the merged group, Re-impl)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import groups, sequences
from circus_api.db.groups import PLUGIN_ROLE_FIELDS
from circus_api.errors import BadRequest, NotFound
from circus_api.search import SearchRequest, run_search

# every ID in the left list must also be in the right one
ROLE_DEPENDENCIES = {
    "writeProjects": "readProjects",
    "viewPersonalInfoProjects": "readProjects",
    "moderateProjects": "readProjects",
    "addSeriesProjects": "readProjects",
    **{role: "readPlugin" for role in PLUGIN_ROLE_FIELDS if role != "readPlugin"},
}


def check_role_dependencies(group: dict[str, Any]) -> None:
    for role, needed in ROLE_DEPENDENCIES.items():
        missing = [i for i in group.get(role) or [] if i not in (group.get(needed) or [])]
        if missing:
            raise BadRequest(f"{role} requires {needed}, which lacks: {', '.join(missing)}")


async def search(db: AsyncDatabase, request: SearchRequest) -> dict[str, Any]:
    return await run_search(db[groups.COLLECTION], request)


async def get(db: AsyncDatabase, raw_group_id: str) -> dict[str, Any]:
    numeric = raw_group_id.isascii() and raw_group_id.isdigit()  # str.isdigit alone takes '¹' and '٣'
    group = await groups.find(db, int(raw_group_id)) if numeric else None
    if group is None:
        raise NotFound("This group does not exist.")
    return group


async def create(db: AsyncDatabase, body: dict[str, Any]) -> int:
    if "groupId" in body:
        raise BadRequest("Group ID cannot be specified")
    check_role_dependencies(body)
    group_id = await sequences.next_value(db, "groups", floor=await groups.max_group_id(db))
    await groups.insert(db, {"groupId": group_id, **body})
    return group_id


async def update(db: AsyncDatabase, raw_group_id: str, body: dict[str, Any]) -> None:
    if "groupId" in body:
        raise BadRequest("The primary key cannot be modified.")
    current = await get(db, raw_group_id)
    check_role_dependencies({**current, **body})
    await groups.update(db, current["groupId"], body)
