"""The `clinicalCases` collection (spec 6.5), keyed by `caseId`."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db.documents import NO_ID

COLLECTION = "clinicalCases"


async def find(db: AsyncDatabase, case_id: str) -> dict[str, Any] | None:
    return await db[COLLECTION].find_one({"caseId": case_id}, NO_ID)
