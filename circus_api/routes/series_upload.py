"""DICOM uploads (spec 4.5 endpoints 14 and 15): many files as a task, or one file at once.

Files are streamed into a staging folder under the data directory (`circus_api.uploads`),
never held in memory; option `anonymize=true` (query string or form field) de-identifies them.
"""

from __future__ import annotations

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.services import series_import
from circus_api.tasks import actors
from circus_api.uploads import ReceivedUpload, receive_files


async def _receive(ctx: RequestContext) -> ReceivedUpload:
    return await receive_files(
        ctx.request, series_import.new_staging_folder(ctx.settings), file_field="files",
        max_file_bytes=ctx.settings.upload_file_size_max_bytes, max_files=ctx.settings.upload_max_files,
    )


async def upload_series(ctx: RequestContext) -> dict[str, str]:
    domain = ctx.path["domain"]
    series_import.check_upload(ctx.privs, domain, ctx.state.redis, needs_worker=True)
    series_import.anonymize_option(ctx.query.get("anonymize"))  # a bad option fails before the upload
    upload = await _receive(ctx)
    async with series_import.staged(upload.folder):
        anonymize = series_import.anonymize_option(ctx.query.get("anonymize"), upload.fields.get("anonymize"))
        task_id = await series_import.start_import_task(
            ctx.db, ctx.state.redis, ctx.settings, ctx.user_email, upload.folder,
            [(file.name, file.path) for file in upload.files],
            lambda task_id: actors.import_series.send(task_id, domain, anonymize),
        )
    return {"taskId": task_id}


async def upload_single(ctx: RequestContext) -> None:
    domain = ctx.path["domain"]
    series_import.check_upload(ctx.privs, domain)
    series_import.anonymize_option(ctx.query.get("anonymize"))
    upload = await _receive(ctx)
    async with series_import.staged(upload.folder, keep=False):
        anonymize = series_import.anonymize_option(ctx.query.get("anonymize"), upload.fields.get("anonymize"))
        await series_import.import_single(
            ctx.db, ctx.settings, series_import.ImportOptions(domain, ctx.user_email, anonymize),
            [(file.name, file.path) for file in upload.files],
        )


ROUTES = [
    ApiRoute("POST", "/series/domain/{domain}", upload_series, body="multipart", status=201,
             summary="Upload DICOM files and archives; imported by a task"),
    ApiRoute("POST", "/series/domain/{domain}/single", upload_single, body="multipart", status=201,
             summary="Upload and import one DICOM file"),
]
