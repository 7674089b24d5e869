"""Projects (spec 4.4, 4.13)."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import projects
from circus_api.db.ids import new_ulid
from circus_api.errors import BadRequest, NotFound
from circus_api.search import SearchRequest, run_search


async def search(db: AsyncDatabase, request: SearchRequest) -> dict[str, Any]:
    return await run_search(db[projects.COLLECTION], request)


async def get(db: AsyncDatabase, project_id: str) -> dict[str, Any]:
    project = await projects.find(db, project_id)
    if project is None:
        raise NotFound("This project does not exist.")
    return project


async def create(db: AsyncDatabase, body: dict[str, Any]) -> str:
    if "projectId" in body:
        raise BadRequest("Project ID cannot be specified")
    project_id = new_ulid()
    await projects.insert(db, {"projectId": project_id, **body})
    return project_id


async def update(db: AsyncDatabase, project_id: str, body: dict[str, Any]) -> None:
    if "projectId" in body:
        raise BadRequest("The primary key cannot be modified.")
    if not await projects.update(db, project_id, body):
        raise NotFound("This project does not exist.")
