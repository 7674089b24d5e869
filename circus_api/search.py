"""The one search helper (spec 3): Extended-JSON filters checked against a whitelist, sort, paging.

Every search endpoint declares a `SearchSpec` and calls `run_search` (plain `find`) or
`run_pipeline_search` (aggregation with join stages); both answer `{items, totalItems, page}`.
The `/list/:myListId` variants check the list with `own_my_list` and run `run_my_list_search`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bson.regex import Regex
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import OperationFailure
from starlette.datastructures import QueryParams

from circus_api.db import clinical_cases, my_lists, plugin_jobs, series
from circus_api.db.paging import aggregate_page, find_page
from circus_api.errors import BadRequest, NotFound
from circus_api.wire import loads, parse_iso_date

VALUE_OPERATORS = {"$gt", "$gte", "$lt", "$lte", "$ne", "$in", "$all"}
MAX_LIMIT = 200
UNLIMITED = 9999
MAX_SKIP = 2**62


@dataclass(frozen=True)
class SearchSpec:
    """How one endpoint searches (spec 3.3)."""

    fields: frozenset[str]
    default_sort: tuple[tuple[str, int], ...]
    unlimited: bool = False
    filter_ignored: bool = False
    filter_error: str = "Invalid JSON was passed as a filter string"
    reject_repeated_filter: bool = False


@dataclass(frozen=True)
class SearchRequest:
    filter: dict[str, Any]
    sort: list[tuple[str, int]]
    limit: int
    page: int

    @property
    def skip(self) -> int:
        # a page far beyond the data is simply empty; keep the number within MongoDB's 64-bit ints
        return min(self.limit * (self.page - 1), MAX_SKIP)


# ---- filters ---------------------------------------------------------------------------------


def decode_extended_json(value: Any) -> Any:
    """Relaxed Extended JSON: `{"$date": ...}` becomes a date, `{"$regex", "$options"}` a regex."""
    if isinstance(value, dict):
        if set(value) == {"$date"}:
            raw = value["$date"]
            try:
                if isinstance(raw, int | float):
                    return dt.datetime.fromtimestamp(raw / 1000, dt.UTC).replace(tzinfo=None)
                if isinstance(raw, dict) and "$numberLong" in raw:
                    return dt.datetime.fromtimestamp(int(raw["$numberLong"]) / 1000, dt.UTC).replace(tzinfo=None)
                return parse_iso_date(str(raw))
            except (ValueError, OverflowError, OSError):
                raise BadRequest("Bad filter.") from None
        if "$regex" in value and set(value) <= {"$regex", "$options"}:
            pattern, options = value["$regex"], value.get("$options", "")
            # BSON cannot carry a NUL byte in a regex (the driver would fail with a 500)
            if not isinstance(pattern, str) or not isinstance(options, str) or "\x00" in pattern + options:
                raise BadRequest("Bad filter.")
            return Regex(pattern, options)
        return {k: decode_extended_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode_extended_json(v) for v in value]
    return value


def parse_filter(query: QueryParams, spec: SearchSpec) -> dict[str, Any]:
    values = query.getlist("filter")
    if not values or spec.filter_ignored:
        return {}
    if spec.reject_repeated_filter and len(values) > 1:
        raise BadRequest(spec.filter_error)
    try:
        parsed = loads(values[0])
    except ValueError:
        raise BadRequest(spec.filter_error) from None
    if not isinstance(parsed, dict):
        raise BadRequest("Bad filter.")
    return decode_extended_json(parsed)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool | dt.datetime | Regex)


def is_valid_filter(filter: Any, fields: frozenset[str]) -> bool:
    """Spec 3.2: whitelisted fields, `$and`/`$or`, scalar values or a fixed set of operators."""
    if not isinstance(filter, dict):
        return False
    for key, value in filter.items():
        if key in ("$and", "$or"):
            if not isinstance(value, list) or not all(is_valid_filter(f, fields) for f in value):
                return False
        elif key not in fields:
            return False
        elif isinstance(value, dict):
            if not value or not set(value) <= VALUE_OPERATORS:
                return False
            for operator, operand in value.items():
                if operator in ("$in", "$all"):
                    if not isinstance(operand, list):
                        return False
                elif not _is_scalar(operand):
                    return False
        elif not _is_scalar(value):
            return False
    return True


def uses_patient_info(filter: Any) -> bool:
    """Whether any key (top level or inside `$and`/`$or`) is about patient information."""
    if not isinstance(filter, dict):
        return False
    for key, value in filter.items():
        if key.startswith("patientInfo"):
            return True
        if key in ("$and", "$or") and isinstance(value, list) and any(uses_patient_info(f) for f in value):
            return True
    return False


# ---- sort and paging -------------------------------------------------------------------------


def _is_field_path(key: str) -> bool:
    """A key MongoDB can sort on: dot-separated non-empty names, none starting with `$`, no NUL."""
    return "\x00" not in key and all(part and not part.startswith("$") for part in key.split("."))


def parse_sort(query: QueryParams, default: tuple[tuple[str, int], ...]) -> list[tuple[str, int]]:
    values = query.getlist("sort")
    if not values:
        return list(default)
    try:
        parsed = json.loads(values[0])
    except ValueError:
        raise BadRequest("Bad sort parameter. Invalid JSON.") from None
    if not isinstance(parsed, dict):
        raise BadRequest("Bad sort parameter. Non-object passed.")
    if len(parsed) > 5:
        raise BadRequest("Bad sort parameter. Too many sort keys.")
    sort: list[tuple[str, int]] = []
    for key, direction in parsed.items():
        if direction not in (1, -1) or isinstance(direction, bool) or not _is_field_path(key):
            raise BadRequest("Bad sort parameter. Invalid key/value pair.")
        sort.append((key, int(direction)))
    return sort or list(default)


def _positive_int(query: QueryParams, name: str, default: int) -> int:
    values = query.getlist(name)
    if not values:
        return default
    raw = values[0].strip()
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise BadRequest(f"The {name} parameter must be a positive integer.")
    return int(raw)


def parse_paging(query: QueryParams, unlimited: bool) -> tuple[int, int]:
    limit = UNLIMITED if unlimited and "unlimited" in query else _positive_int(query, "limit", 20)
    maximum = UNLIMITED if unlimited else MAX_LIMIT
    if limit > maximum:
        raise BadRequest(f"You cannot query more than {maximum} items at a time.")
    return limit, _positive_int(query, "page", 1)


def parse_search(
    query: QueryParams, spec: SearchSpec, can_search_patient_info: bool = True
) -> SearchRequest:
    filter = parse_filter(query, spec)
    if not is_valid_filter(filter, spec.fields):
        raise BadRequest("Bad filter.")
    if uses_patient_info(filter) and not can_search_patient_info:
        raise BadRequest("You cannot search using patient information.")
    limit, page = parse_paging(query, spec.unlimited)
    return SearchRequest(filter, parse_sort(query, spec.default_sort), limit, page)


def combine(user_filter: dict[str, Any], access_filter: dict[str, Any] | None) -> dict[str, Any]:
    parts = [f for f in (user_filter, access_filter) if f]
    if not parts:
        return {}
    return parts[0] if len(parts) == 1 else {"$and": parts}


# ---- execution -------------------------------------------------------------------------------

ItemShaper = Callable[[dict[str, Any]], dict[str, Any]]


def _page_body(items: list[dict[str, Any]], total: int, page: int, shape: ItemShaper | None) -> dict[str, Any]:
    return {"items": [shape(i) for i in items] if shape else items, "totalItems": total, "page": page}


async def run_search(
    collection: AsyncCollection,
    request: SearchRequest,
    access_filter: dict[str, Any] | None = None,
    projection: dict[str, Any] | None = None,
    shape: ItemShaper | None = None,
) -> dict[str, Any]:
    """A plain `find` search (admin lists, tasks)."""
    try:
        items, total = await find_page(
            collection, combine(request.filter, access_filter), request.sort, request.skip, request.limit,
            projection,
        )
    except OperationFailure as exc:
        raise _query_error(exc) from exc
    return _page_body(items, total, request.page, shape)


async def run_pipeline_search(
    collection: AsyncCollection,
    request: SearchRequest,
    join_stages: list[dict[str, Any]],
    access_filter: dict[str, Any] | None = None,
    remove_fields: list[str] | None = None,
    count_cap: int | None = None,
    shape: ItemShaper | None = None,
    pre_stages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """An aggregation search (series, cases, plug-in jobs; spec 3.4)."""
    try:
        items, total = await aggregate_page(
            collection,
            (pre_stages or []) + join_stages,
            combine(request.filter, access_filter),
            request.sort,
            request.skip,
            request.limit,
            remove_fields or [],
            count_cap,
        )
    except OperationFailure as exc:
        raise _query_error(exc) from exc
    return _page_body(items, total, request.page, shape)


# BadValue (e.g. an empty `$and`), an invalid regular expression, an invalid regex flag
_BAD_QUERY_CODES = {2, 51091, 51108}


def _query_error(exc: OperationFailure) -> Exception:
    if exc.code in _BAD_QUERY_CODES:
        return BadRequest("Invalid query")
    return exc


# ---- my-list variants (spec 3.5) -------------------------------------------------------------

MY_LIST_SORT = (("addedToListAt", -1),)


@dataclass(frozen=True)
class MyListResource:
    """Where the items of a my list of one `resourceType` live."""

    collection: str
    key_field: str
    wrong_type_message: str


MY_LIST_RESOURCES = {
    "series": MyListResource(series.COLLECTION, "seriesUid", "This my list is not for series"),
    "clinicalCases": MyListResource(clinical_cases.COLLECTION, "caseId", "This my list is not for cases"),
    "pluginJobs": MyListResource(plugin_jobs.COLLECTION, "jobId", "This my list is not for plugin jobs"),
}


def for_my_list(spec: SearchSpec) -> SearchSpec:
    """The endpoint's search settings with the my-list default sort (newest addition first)."""
    return replace(spec, default_sort=MY_LIST_SORT)


async def own_my_list(db: AsyncDatabase, user_email: str, my_list_id: str, resource_type: str) -> str:
    """The list ID, once it is known to be one of the caller's own lists (shared and public lists
    of others do not count) holding `resource_type` items."""
    my_list = await my_lists.find_own_list(db, user_email, my_list_id)
    if my_list is None:
        raise NotFound("This my list does not exist")
    if my_list.get("resourceType") != resource_type:
        raise BadRequest(MY_LIST_RESOURCES[resource_type].wrong_type_message)
    return my_list_id


def my_list_stages(my_list_id: str, resource_type: str) -> list[dict[str, Any]]:
    """Stages on `myLists` that turn a list into its resource documents, each merged with
    `addedToListAt` (the item's `createdAt`); items whose resource is gone disappear."""
    resource = MY_LIST_RESOURCES[resource_type]
    return [
        {"$match": {"myListId": my_list_id}},
        # one row per item first: SecantusDB finds nothing when localField runs through an array
        {"$unwind": "$items"},
        {
            "$lookup": {
                "from": resource.collection,
                "localField": "items.resourceId",
                "foreignField": resource.key_field,
                "as": "resource",
            }
        },
        {"$unwind": "$resource"},
        {"$replaceRoot": {"newRoot": {"$mergeObjects": ["$resource", {"addedToListAt": "$items.createdAt"}]}}},
    ]


async def run_my_list_search(
    db: AsyncDatabase,
    my_list_id: str,
    resource_type: str,
    request: SearchRequest,
    join_stages: list[dict[str, Any]],
    access_filter: dict[str, Any] | None = None,
    remove_fields: list[str] | None = None,
    count_cap: int | None = None,
    shape: ItemShaper | None = None,
    pre_stages: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The endpoint's normal pipeline search (same joins, access filter and shaping), started
    from the items of a my list checked with `own_my_list`."""
    return await run_pipeline_search(
        db[my_lists.COLLECTION],
        request,
        join_stages,
        access_filter,
        [*(remove_fields or []), "addedToListAt"],
        count_cap,
        shape,
        pre_stages=[*my_list_stages(my_list_id, resource_type), *(pre_stages or [])],
    )
