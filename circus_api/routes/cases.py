"""Cases (spec 4.6): search, creation, one case, revisions, tags and deletion.

The MHD export (#25) is in `routes/case_export.py`; no path of it overlaps these.
"""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas import cases as schemas
from circus_api.search import SearchSpec, for_my_list, own_my_list, parse_search
from circus_api.services import case_search, cases

SEARCH = SearchSpec(
    frozenset({
        "projectId", "caseId", "patientInfo.patientId", "patientInfo.patientName", "patientInfo.age",
        "patientInfo.sex", "tags", "createdAt", "updatedAt",
    }),
    (("createdAt", -1),),
)
MY_LIST_SEARCH = for_my_list(SEARCH)


async def search_cases(ctx: RequestContext) -> dict[str, Any]:
    request = parse_search(ctx.query, SEARCH, ctx.privs.has_global("personalInfoView"))
    return await case_search.search(ctx.db, ctx.user or {}, ctx.privs, request)


async def search_cases_in_my_list(ctx: RequestContext) -> dict[str, Any]:
    my_list_id = await own_my_list(ctx.db, ctx.user_email, ctx.path["myListId"], "clinicalCases")
    request = parse_search(ctx.query, MY_LIST_SEARCH, ctx.privs.has_global("personalInfoView"))
    return await case_search.search(ctx.db, ctx.user or {}, ctx.privs, request, my_list_id)


async def create_case(ctx: RequestContext) -> dict[str, str]:
    return {"caseId": await cases.create(ctx.db, ctx.settings, ctx.user_email, ctx.privs, ctx.body)}


async def get_case(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.case is not None  # loaded by the project-role check
    return cases.case_view(ctx.case)


async def add_revision(ctx: RequestContext) -> None:
    assert ctx.case is not None
    await cases.add_revision(ctx.db, ctx.state.blobs, ctx.case["caseId"], ctx.user_email, ctx.body)


async def set_tags(ctx: RequestContext) -> None:
    assert ctx.case is not None
    await cases.set_tags(ctx.db, ctx.case["caseId"], ctx.body)


async def update_tags(ctx: RequestContext) -> None:
    await cases.update_tags(ctx.db, ctx.privs, ctx.body)


async def delete_case(ctx: RequestContext) -> None:
    assert ctx.case is not None
    force = ctx.query.get("force") in ("1", "true")
    await cases.delete(ctx.db, ctx.case["caseId"], force, ctx.settings.transaction_max_commit_ms)


ROUTES = [
    ApiRoute("GET", "/cases", search_cases, summary="Search cases"),
    ApiRoute("GET", "/cases/list/{myListId}", search_cases_in_my_list, summary="Search the cases of a my list"),
    # write role on the body's project is checked by the service, after `auto` is resolved
    ApiRoute("POST", "/cases", create_case, body="json", body_schema=schemas.NEW_CASE, status=201,
             summary="Create a case"),
    ApiRoute("GET", "/cases/{caseId}", get_case, project_roles=("read",), summary="A case with its revisions"),
    ApiRoute("POST", "/cases/{caseId}/revision", add_revision, project_roles=("write",), body="json",
             body_schema=schemas.NEW_REVISION, status=201, summary="Append a revision"),
    ApiRoute("PUT", "/cases/{caseId}/tags", set_tags, project_roles=("write",), body="json",
             body_schema=schemas.CASE_TAGS, summary="Replace a case's tags"),
    # write role on each case's project is checked by the service
    ApiRoute("PATCH", "/cases/tags", update_tags, body="json", body_schema=schemas.TAG_PATCH,
             summary="Add, remove or set tags of many cases"),
    ApiRoute("DELETE", "/cases/{caseId}", delete_case, project_roles=("moderate",),
             summary="Delete a case (?force=1 takes it out of every my list first)"),
]
