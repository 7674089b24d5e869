"""What a plug-in job leaves behind: attachments, feedback (spec 4.10 #45-#50), and the live
event stream of a job (`/plugin-jobs/:jobId/events`, beyond the original)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.responses import FileResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.feedback import FEEDBACK
from circus_api.services import attachments, feedback, job_events
from circus_api.wire import to_wire

KEEP_ALIVE_S = 15


async def list_attachments(ctx: RequestContext) -> list[str]:
    return await attachments.list_attachments(ctx.settings.results_dir, ctx.path["jobId"])


async def get_attachment(ctx: RequestContext) -> FileResponse:
    path, media_type = await attachments.resolve_attachment(
        ctx.settings.results_dir, ctx.path["jobId"], ctx.path["path"]
    )
    return FileResponse(path, media_type=media_type)


async def add_consensual_feedback(ctx: RequestContext) -> dict[str, str]:
    return {"feedbackId": await feedback.add_entry(ctx.db, ctx.path["jobId"], ctx.user_email, True, ctx.body)}


async def add_personal_feedback(ctx: RequestContext) -> dict[str, str]:
    return {"feedbackId": await feedback.add_entry(ctx.db, ctx.path["jobId"], ctx.user_email, False, ctx.body)}


async def list_feedback(ctx: RequestContext) -> list[dict[str, Any]]:
    assert ctx.job is not None  # loaded by the plug-in role check
    return feedback.list_entries(ctx.job)


async def delete_feedback(ctx: RequestContext) -> None:
    await feedback.delete_entry(ctx.db, ctx.path["jobId"], ctx.path["feedbackId"])


async def job_events_stream(ctx: RequestContext) -> EventSourceResponse:
    """SSE: the job's current state, then status / progress / log events until it ends."""
    stream = await job_events.open_stream(ctx.db, ctx.path["jobId"])

    async def relay() -> AsyncIterator[ServerSentEvent]:
        async for event in stream:
            yield ServerSentEvent(
                event=event.kind,
                data=json.dumps(to_wire(event.data), ensure_ascii=False),
                id=None if event.seq is None else str(event.seq),
            )

    return EventSourceResponse(
        relay(),
        ping=KEEP_ALIVE_S,
        ping_message_factory=lambda: ServerSentEvent(comment=""),
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
    )


READ = ("readPlugin",)

ROUTES = [
    ApiRoute("GET", "/plugin-jobs/{jobId}/attachment", list_attachments, plugin_roles=READ,
             series_domain_check=True, summary="The job's result files and folders"),
    ApiRoute("GET", "/plugin-jobs/{jobId}/attachment/{path+}", get_attachment, plugin_roles=READ,
             series_domain_check=True, summary="Download one result file"),
    ApiRoute("POST", "/plugin-jobs/{jobId}/feedback/consensual", add_consensual_feedback,
             plugin_roles=("inputConsensualFeedback",), series_domain_check=True, body="json",
             body_schema=FEEDBACK, summary="Register the job's consensual feedback"),
    ApiRoute("POST", "/plugin-jobs/{jobId}/feedback/personal", add_personal_feedback,
             plugin_roles=("inputPersonalFeedback",), series_domain_check=True, body="json",
             body_schema=FEEDBACK, summary="Register the caller's personal feedback"),
    ApiRoute("GET", "/plugin-jobs/{jobId}/feedback", list_feedback, plugin_roles=READ,
             series_domain_check=True, summary="Every feedback entry of the job"),
    ApiRoute("DELETE", "/plugin-jobs/{jobId}/feedback/{feedbackId}", delete_feedback,
             plugin_roles=("manageFeedback",), series_domain_check=True,
             summary="Delete one feedback entry, or `all`"),
    ApiRoute("GET", "/plugin-jobs/{jobId}/events", job_events_stream, plugin_roles=READ,
             series_domain_check=True, summary="Server-sent events of the job's status, progress and log"),
]
