"""One-time login strings issued by admins (spec 1.4, 4.14)."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import onetime_urls, users
from circus_api.db.ids import new_ulid, random_onetime_string
from circus_api.errors import BadRequest, NotFound


async def issue(db: AsyncDatabase, user_name: str) -> str:
    matches = await users.find_by_email_or_login(db, user_name)
    if len(matches) != 1:
        raise NotFound("The specified user was not found.")
    user = matches[0]
    if not user.get("loginEnabled"):
        raise BadRequest("The specified user is disabled.")
    onetime_string = random_onetime_string()
    await onetime_urls.insert(
        db, {"onetimeUrlId": new_ulid(), "userEmail": user["userEmail"], "onetimeString": onetime_string}
    )
    return onetime_string
