"""`POST /cases/export-mhd` (spec 4.6 #25): the MHD export of cases, run as a task."""

from __future__ import annotations

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.case_export import EXPORT_MHD
from circus_api.services import case_export
from circus_api.tasks import actors


async def export_mhd(ctx: RequestContext) -> dict[str, str]:
    task_id = await case_export.start_mhd_export(
        ctx.db, ctx.state.redis, ctx.privs, ctx.user_email, ctx.body, actors.export_mhd.send
    )
    return {"taskId": task_id}


ROUTES = [
    # read role on every case's project is checked by the service
    ApiRoute("POST", "/cases/export-mhd", export_mhd, global_privileges=("downloadVolume",), body="json",
             body_schema=EXPORT_MHD, status=201, summary="Export cases as MetaImage volumes (a task)"),
]
