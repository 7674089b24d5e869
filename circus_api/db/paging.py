"""Find-with-count for the plain (non-aggregation) searches of spec 3.4."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from circus_api.db.documents import NO_ID


async def find_page(
    collection: AsyncCollection,
    filter: dict[str, Any],
    sort: list[tuple[str, int]],
    skip: int,
    limit: int,
    projection: dict[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """One page of documents and the number of all matching documents."""
    cursor = collection.find(filter, {**NO_ID, **(projection or {})}).sort(sort).skip(skip).limit(limit)
    items = await cursor.to_list()
    total = await collection.count_documents(filter)
    return items, total


async def aggregate_page(
    collection: AsyncCollection,
    join_stages: list[dict[str, Any]],
    match: dict[str, Any],
    sort: list[tuple[str, int]],
    skip: int,
    limit: int,
    remove_fields: list[str],
    count_cap: int | None = None,
) -> tuple[list[dict[str, Any]], int]:
    """Join stages, one `$match`, then a `$facet` with the page and the (optionally capped) count.

    An empty `sort` means the join stages already sorted the rows (plug-in job search)."""
    items_branch: list[dict[str, Any]] = [{"$sort": dict(sort)}] if sort else []
    items_branch += [{"$skip": skip}, {"$limit": limit}]
    items_branch.append({"$project": {field: 0 for field in ["_id", *remove_fields]}})
    count_branch: list[dict[str, Any]] = [{"$limit": count_cap}] if count_cap else []
    count_branch.append({"$count": "count"})
    pipeline = [*join_stages, {"$match": match}, {"$facet": {"items": items_branch, "total": count_branch}}]
    result = await (await collection.aggregate(pipeline)).to_list()
    facet = result[0] if result else {"items": [], "total": []}
    total = facet["total"][0]["count"] if facet["total"] else 0
    return facet["items"], total
