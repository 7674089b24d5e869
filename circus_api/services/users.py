"""Users: accounts, preferences and what a user sees of themself (spec 4.1-4.3, 4.13)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api import auth
from circus_api.db import groups, server_params, tokens, users
from circus_api.db.documents import DuplicateKey
from circus_api.errors import BadRequest, Conflict, NotFound
from circus_api.privileges import Privileges
from circus_api.schemas.preferences import with_defaults
from circus_api.search import SearchRequest, run_search

EPOCH = dt.datetime(1970, 1, 1)
PUBLIC_FIELDS = ("userEmail", "loginId", "description", "createdAt", "updatedAt")
MAX_PASSWORD_BYTES = 72


def without_password(user: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in user.items() if k != "password"}


async def search(db: AsyncDatabase, request: SearchRequest) -> dict[str, Any]:
    return await run_search(db[users.COLLECTION], request, projection={"password": 0})


async def logout(db: AsyncDatabase, user_email: str) -> None:
    """End every session of the user (all devices); permanent tokens stay."""
    await tokens.delete_sessions(db, user_email)


async def public_profile(db: AsyncDatabase, user_email: str) -> dict[str, Any]:
    user = await users.find(db, user_email)
    if user is None:
        raise NotFound("This user does not exist.")
    return {k: user[k] for k in PUBLIC_FIELDS if k in user}


async def get_for_admin(db: AsyncDatabase, user_email: str) -> dict[str, Any]:
    user = await users.find(db, user_email)
    if user is None:
        raise NotFound("This user does not exist.")
    return without_password(user)


async def _check_groups_exist(db: AsyncDatabase, group_ids: list[int]) -> None:
    missing = sorted(set(group_ids) - await groups.existing_ids(db, group_ids))
    if missing:
        raise BadRequest(f"Nonexistent group ID: {', '.join(map(str, missing))}")


async def _password_hash(password: str) -> str:
    # the schema counts characters; bcrypt reads at most 72 bytes (and refuses more)
    if len(password.encode()) > MAX_PASSWORD_BYTES:
        raise BadRequest(f"The password must not be longer than {MAX_PASSWORD_BYTES} bytes.")
    return await auth.hash_password(password)


def _refuse_login_fields(body: dict[str, Any]) -> None:
    for name in ("lastLoginTime", "lastLoginIp"):
        if name in body:
            raise BadRequest(f"{name} cannot be specified.")


async def create(db: AsyncDatabase, body: dict[str, Any]) -> str:
    _refuse_login_fields(body)
    await _check_groups_exist(db, body["groups"])
    user = {
        "userEmail": body["userEmail"],
        "loginId": body["loginId"],
        "password": await _password_hash(body["password"]),
        "loginEnabled": body["loginEnabled"],
        "description": body["description"],
        "groups": body["groups"],
        "preferences": with_defaults(body.get("preferences")),
        "myLists": [],
        "lastLoginTime": EPOCH,
        "lastLoginIp": "",
    }
    try:
        await users.insert(db, user)
    except DuplicateKey as exc:
        raise Conflict(f"A user with this {exc.field} already exists.") from None
    return str(user["userEmail"])


async def update(db: AsyncDatabase, user_email: str, body: dict[str, Any]) -> None:
    if "userEmail" in body:
        raise BadRequest("The primary key cannot be modified.")
    _refuse_login_fields(body)
    if "groups" in body:
        await _check_groups_exist(db, body["groups"])
    fields = dict(body)
    if "password" in fields:
        fields["password"] = await _password_hash(fields["password"])
    try:
        found = await users.update(db, user_email, fields)
    except DuplicateKey as exc:
        raise Conflict(f"A user with this {exc.field} already exists.") from None
    if not found:
        raise NotFound("This user does not exist.")


async def preferences(user: dict[str, Any]) -> dict[str, Any]:
    return with_defaults(user.get("preferences"))


async def update_preferences(db: AsyncDatabase, user: dict[str, Any], patch: dict[str, Any]) -> None:
    merged = {**(user.get("preferences") or {}), **patch}
    await users.update(db, user["userEmail"], {"preferences": merged})


async def shared_my_lists(db: AsyncDatabase, user: dict[str, Any]) -> list[dict[str, Any]]:
    """My lists (of anyone) whose editors name this user or one of the user's groups."""
    email, group_ids = user["userEmail"], list(user.get("groups") or [])
    shared = []
    for owner in await users.find_editable_lists(db, email, group_ids):
        for my_list in owner.get("myLists", []):
            for editor in my_list.get("editors", []):
                if (editor.get("type") == "user" and editor.get("userEmail") == email) or (
                    editor.get("type") == "group" and editor.get("groupId") in group_ids
                ):
                    shared.append({"owner": owner["userEmail"], "sharedMyList": my_list})
                    break
    return shared


async def full_login_info(
    db: AsyncDatabase, user: dict[str, Any], privileges: Privileges, image_server_url: str, upload_max: int
) -> dict[str, Any]:
    exists, default_domain = await server_params.find(db, "defaultDomain")
    return {
        **without_password(user),
        "groups": privileges.group_names,
        **privileges.summary(),
        "defaultDomain": default_domain if exists and default_domain in privileges.domains else None,
        "sharedMyLists": await shared_my_lists(db, user),
        "dicomImageServer": image_server_url,
        "uploadFileMax": 30,
        "uploadFileSizeMaxBytes": upload_max,
    }
