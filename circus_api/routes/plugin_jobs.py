"""`/plugin-jobs` (spec 4.10 #40-#44) and `/plugin-job-queue` (4.11 #51). Attachments and
feedback (#45-#50) are in `routes/plugin_job_results.py`.
`/plugin-jobs/list/{id}` is listed before `/plugin-jobs/{id}`.
"""

from __future__ import annotations

from typing import Any

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.plugin_jobs import JOB_STATUS_CHANGE, NEW_JOB
from circus_api.search import SearchSpec, for_my_list, own_my_list, parse_paging, parse_search
from circus_api.services import plugin_jobs

SEARCH = SearchSpec(
    frozenset({
        "pluginId", "jobId", "status", "patientInfo.patientId", "patientInfo.patientName", "patientInfo.age",
        "patientInfo.sex", "seriesUid", "studyUid", "seriesDate", "modality", "createdAt", "updatedAt",
        "finishedAt",
    }),
    (("createdAt", -1),),
)
MY_LIST_SEARCH = for_my_list(SEARCH)


async def create_job(ctx: RequestContext) -> dict[str, str]:
    job_id = await plugin_jobs.register(ctx.db, ctx.settings, ctx.user_email, ctx.privs, ctx.body)
    return {"jobId": job_id}


async def change_job_status(ctx: RequestContext) -> None:
    assert ctx.job is not None  # loaded by the plug-in-role check
    await plugin_jobs.change_status(ctx.db, ctx.settings, ctx.privs, ctx.job, ctx.body["status"])


async def search_jobs(ctx: RequestContext) -> dict[str, Any]:
    plugin_jobs.check_sort_parameter(ctx.query.getlist("sort"))
    request = parse_search(ctx.query, SEARCH, ctx.privs.has_global("personalInfoView"))
    return await plugin_jobs.search(ctx.db, ctx.user or {}, ctx.privs, request)


async def search_jobs_in_my_list(ctx: RequestContext) -> dict[str, Any]:
    # the list is checked before the query parameters, as CIRCUS does
    my_list_id = await own_my_list(ctx.db, ctx.user_email, ctx.path["myListId"], "pluginJobs")
    plugin_jobs.check_sort_parameter(ctx.query.getlist("sort"))
    request = parse_search(ctx.query, MY_LIST_SEARCH, ctx.privs.has_global("personalInfoView"))
    return await plugin_jobs.search(ctx.db, ctx.user or {}, ctx.privs, request, my_list_id=my_list_id)


async def get_job(ctx: RequestContext) -> dict[str, Any]:
    assert ctx.job is not None  # loaded by the plug-in-role check: the full document
    return ctx.job


async def list_my_queue(ctx: RequestContext) -> dict[str, Any]:
    limit, page = parse_paging(ctx.query, unlimited=True)
    state = plugin_jobs.queue_state(ctx.query.getlist("state"))
    return await plugin_jobs.list_queue(ctx.db, state, limit, page, user_email=ctx.user_email)


ROUTES = [
    ApiRoute("POST", "/plugin-jobs", create_job, body="json", body_schema=NEW_JOB, status=201,
             summary="Register a plug-in job (needs executePlugin on the plug-in)"),
    ApiRoute("PATCH", "/plugin-jobs/{jobId}", change_job_status, plugin_roles=("executePlugin",),
             series_domain_check=True, body="json", body_schema=JOB_STATUS_CHANGE,
             summary="Cancel or invalidate a job"),
    ApiRoute("GET", "/plugin-jobs", search_jobs, summary="Search plug-in jobs"),
    ApiRoute("GET", "/plugin-jobs/list/{myListId}", search_jobs_in_my_list,
             summary="Search the jobs of one of the caller's my lists"),
    ApiRoute("GET", "/plugin-jobs/{jobId}", get_job, plugin_roles=("readPlugin",), series_domain_check=True,
             summary="A job with its results and feedback"),
    ApiRoute("GET", "/plugin-job-queue", list_my_queue, summary="The caller's queued jobs"),
]
