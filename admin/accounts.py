"""Account administration shared by the CLI and first start: users, groups, permanent tokens.

Everything goes through `circus_api.services` so the CLI follows the same rules as the API.
"""

from __future__ import annotations

import secrets
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api import auth
from circus_api.db import groups as groups_db
from circus_api.db import server_params, tokens, users
from circus_api.errors import NotFound
from circus_api.privileges import GLOBAL_PRIVILEGES
from circus_api.services import groups, projects
from circus_api.services import users as user_service

ADMIN_EMAIL = "admin@circus.local"
DEFAULT_DOMAIN = "default"


def empty_group(name: str) -> dict[str, Any]:
    body: dict[str, Any] = {"groupName": name, "privileges": [], "domains": []}
    body.update({field: [] for field in groups_db.PROJECT_ROLE_FIELDS})
    body.update({field: [] for field in groups_db.PLUGIN_ROLE_FIELDS})
    return body


async def resolve_user(db: AsyncDatabase, name: str) -> dict[str, Any]:
    matches = await users.find_by_email_or_login(db, name)
    if len(matches) != 1:
        raise NotFound(f"No single user has the e-mail or login ID {name!r}.")
    return matches[0]


async def add_user(
    db: AsyncDatabase, email: str, login_id: str, password: str, group_ids: list[int], description: str = ""
) -> str:
    return await user_service.create(
        db,
        {
            "userEmail": email,
            "loginId": login_id,
            "password": password,
            "loginEnabled": True,
            "description": description,
            "groups": group_ids,
        },
    )


async def set_password(db: AsyncDatabase, name: str, password: str) -> None:
    user = await resolve_user(db, name)
    await user_service.update(db, user["userEmail"], {"password": password})


async def add_group(db: AsyncDatabase, name: str, privileges: list[str], domains: list[str]) -> int:
    return await groups.create(db, {**empty_group(name), "privileges": privileges, "domains": domains})


async def add_permanent_token(db: AsyncDatabase, name: str, description: str) -> str:
    user = await resolve_user(db, name)
    token = await auth.issue_permanent_token(db, user["userEmail"], description)
    return token["accessToken"]


async def clear_tokens(db: AsyncDatabase, include_permanent: bool) -> int:
    return await tokens.delete_all(db, include_permanent)


async def bootstrap_first_admin(db: AsyncDatabase, email: str | None, password: str | None) -> tuple[str, str] | None:
    """On a database without users: an admin group with every privilege, a default project and
    domain, and an admin account. Returns (login, password), or None when users already exist.

    Unlike CIRCUS's first migration, the password is random unless given (no well-known
    `circus`/`circus` account on a new server).
    """
    if await users.count(db) > 0:
        return None
    project_id = await projects.create(
        db,
        {
            "projectName": "Default project",
            "icon": {"glyph": "calc", "color": "#ffffcc", "backgroundColor": "#248065"},
            "description": "The project created on first start.",
            "tags": [],
            "caseAttributesSchema": {},
            "labelAttributesSchema": {},
            "windowPresets": [],
            "windowPriority": "dicom,auto",
        },
    )
    admin_group = {
        **empty_group("admin"),
        "privileges": list(GLOBAL_PRIVILEGES),
        "domains": [DEFAULT_DOMAIN],
        **{field: [project_id] for field in groups_db.PROJECT_ROLE_FIELDS},
    }
    group_id = await groups.create(db, admin_group)
    exists, _ = await server_params.find(db, "domains")
    if not exists:
        await server_params.upsert(db, "domains", [DEFAULT_DOMAIN])
        await server_params.upsert(db, "defaultDomain", DEFAULT_DOMAIN)
    email = email or ADMIN_EMAIL
    password = password or secrets.token_urlsafe(12)
    await add_user(db, email, email.split("@")[0], password, [group_id], "Administrator")
    return email, password



async def list_users(db: AsyncDatabase) -> list[dict[str, Any]]:
    return [user_service.without_password(u) for u in await users.list_all(db)]


async def list_groups(db: AsyncDatabase) -> list[dict[str, Any]]:
    return await groups_db.list_all(db)
