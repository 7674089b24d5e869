"""`/series`, the read side (spec 4.5 #12, #13, #16-#19); uploads (#14, #15) are in
`routes/series_upload.py`. `/series/list/{id}` is listed before `/series/{uid}/...`.
"""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.series import EXPORT_CS_VOLUME
from circus_api.search import SearchSpec, for_my_list, own_my_list, parse_search
from circus_api.services import series

SEARCH = SearchSpec(
    frozenset({
        "modality", "seriesUid", "studyUid", "seriesDescription", "patientInfo.patientId",
        "patientInfo.patientName", "patientInfo.age", "patientInfo.sex", "seriesDate", "createdAt",
    }),
    (("createdAt", -1),),
)
MY_LIST_SEARCH = for_my_list(SEARCH)


def _can_search_patient_info(ctx: RequestContext) -> bool:
    return ctx.privs.has_global("personalInfoView")


async def search_series(ctx: RequestContext) -> dict[str, Any]:
    request = parse_search(ctx.query, SEARCH, _can_search_patient_info(ctx))
    return await series.search(ctx.db, ctx.user or {}, ctx.privs, request)


async def search_series_in_my_list(ctx: RequestContext) -> dict[str, Any]:
    # the list is checked before the query parameters, as CIRCUS does
    my_list_id = await own_my_list(ctx.db, ctx.user_email, ctx.path["myListId"], "series")
    request = parse_search(ctx.query, MY_LIST_SEARCH, _can_search_patient_info(ctx))
    return await series.search(ctx.db, ctx.user or {}, ctx.privs, request, my_list_id=my_list_id)


async def get_series(ctx: RequestContext) -> dict[str, Any]:
    return await series.get(ctx.db, ctx.user or {}, ctx.privs, ctx.path["seriesUid"])


async def get_orientation(ctx: RequestContext) -> dict[str, str]:
    return await series.orientation(
        ctx.db, ctx.settings.dicom_dir, ctx.privs, ctx.path["seriesUid"],
        ctx.query.getlist("start"), ctx.query.getlist("end"),
    )


async def delete_series(ctx: RequestContext) -> None:
    await series.delete(
        ctx.client, ctx.db, ctx.settings.dicom_dir, ctx.privs, ctx.path["seriesUid"],
        ctx.settings.transaction_max_commit_ms,
    )


async def export_cs_volume(ctx: RequestContext) -> dict[str, str]:
    task_id = await series.export_cs_volume(
        ctx.db, ctx.state.redis, ctx.user_email, ctx.privs, ctx.body["series"],
        ctx.body.get("compressionFormat", "tgz"),
    )
    return {"taskId": task_id}


ROUTES = [
    ApiRoute("GET", "/series", search_series, summary="Search series"),
    ApiRoute("GET", "/series/list/{myListId}", search_series_in_my_list,
             summary="Search the series of one of the caller's my lists"),
    ApiRoute("GET", "/series/{seriesUid}", get_series, summary="A series"),
    ApiRoute("GET", "/series/{seriesUid}/orientation", get_orientation,
             summary="Head-first or foot-first between two images"),
    # Re-impl: CIRCUS lets anyone delete any series; here manageServer plus the series' domain
    ApiRoute("DELETE", "/series/{seriesUid}", delete_series, global_privileges=("manageServer",),
             summary="Delete a series no case or job uses"),
    ApiRoute("POST", "/series/export-cs-volume", export_cs_volume, global_privileges=("downloadVolume",),
             body="json", body_schema=EXPORT_CS_VOLUME, status=201,
             summary="Export series as CS volumes (a task with a download)"),
]
