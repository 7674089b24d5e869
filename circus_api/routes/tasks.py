"""`/tasks`: search, the live progress stream, one task, its download, dismissal (spec 4.12)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from sse_starlette.event import ServerSentEvent
from sse_starlette.sse import EventSourceResponse
from starlette.responses import FileResponse

from circus_api.context import RequestContext
from circus_api.routing import ApiRoute
from circus_api.schemas.tasks import DISMISS
from circus_api.search import SearchSpec, parse_search
from circus_api.services import tasks
from circus_api.tasks import events

SEARCH = SearchSpec(
    frozenset({"taskId", "status", "dismissed"}),
    (("createdAt", -1),),
    filter_error="Filter string could not be parsed.",
    reject_repeated_filter=True,
)
KEEP_ALIVE_S = 10


async def search_tasks(ctx: RequestContext) -> dict[str, Any]:
    return await tasks.search(ctx.db, ctx.state.redis, ctx.user_email, parse_search(ctx.query, SEARCH))


async def report(ctx: RequestContext) -> EventSourceResponse:
    """SSE: the caller's running tasks first, then every event of the caller's tasks as it happens."""
    redis = tasks.require_redis(ctx.state.redis)
    user_email = ctx.user_email
    pubsub = redis.pubsub()
    await pubsub.subscribe(events.CHANNEL)  # before the snapshot, so no event falls in between
    snapshot = await tasks.running_progress(ctx.db, redis, user_email)

    async def stream() -> AsyncIterator[Any]:
        ended: set[str] = set()
        try:
            yield b"\n"
            for payload in snapshot:
                yield ServerSentEvent(event="progress", data=json.dumps(payload))
            while True:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
                if message is None:
                    continue
                event = json.loads(message["data"])
                task_id = event["data"]["taskId"]
                if event["userEmail"] != user_email or (event["event"] == "progress" and task_id in ended):
                    continue
                if event["event"] != "progress":
                    ended.add(task_id)
                yield ServerSentEvent(event=event["event"], data=json.dumps(event["data"]))
        finally:
            await pubsub.unsubscribe()
            await pubsub.aclose()

    return EventSourceResponse(
        stream(),
        ping=KEEP_ALIVE_S,
        ping_message_factory=lambda: ServerSentEvent(comment=""),
        headers={"X-Accel-Buffering": "no", "Cache-Control": "no-cache"},
    )


async def get_task(ctx: RequestContext) -> dict[str, Any]:
    return await tasks.get_own(ctx.db, ctx.path["taskId"], ctx.user_email)


async def download(ctx: RequestContext) -> FileResponse:
    path, content_type, file_name = await tasks.download(
        ctx.db, ctx.settings.download_dir, ctx.path["taskId"], ctx.user_email
    )
    disposition = f'attachment; filename="{file_name}"'
    return FileResponse(
        path, media_type=content_type,
        # CIRCUS misspells the header; clients written against it read that one
        headers={"Content-Disposition": disposition, "Content-Deposition": disposition},
    )


async def dismiss(ctx: RequestContext) -> None:
    await tasks.dismiss(ctx.db, ctx.settings.download_dir, ctx.path["taskId"], ctx.user_email, ctx.body["dismissed"])


ROUTES = [
    ApiRoute("GET", "/tasks", search_tasks, summary="Search the caller's tasks"),
    ApiRoute("GET", "/tasks/report", report, summary="Server-sent events of the caller's task progress"),
    ApiRoute("GET", "/tasks/{taskId}", get_task, summary="One of the caller's tasks"),
    ApiRoute("GET", "/tasks/{taskId}/download", download, summary="Download a finished task's file"),
    ApiRoute("PATCH", "/tasks/{taskId}", dismiss, body="json", body_schema=DISMISS,
             summary="Dismiss a finished task (deletes its download)"),
]
