"""Debug-only routes (spec 4.16), registered only with `--debug`, ahead of the normal ones."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import platform
import resource
import time
from collections.abc import AsyncIterator
from importlib.metadata import version
from typing import Any

from sse_starlette.sse import EventSourceResponse

from circus_api.context import RequestContext
from circus_api.errors import BadRequest
from circus_api.routing import ApiRoute
from circus_api.schemas.tasks import DEBUG_TASK
from circus_api.services import tasks
from circus_api.tasks import actors
from circus_api.wire import iso_date

_STARTED = time.time()


async def debug_status(ctx: RequestContext) -> dict[str, Any]:
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "status": "running",
        "version": version("circus"),
        "upSince": iso_date(dt.datetime.fromtimestamp(_STARTED, dt.UTC)),
        "process": {
            "version": f"python {platform.python_version()}",
            "upTime": time.time() - _STARTED,
            "memoryUsage": {"maxRss": rss_kb * 1024},
        },
    }


async def echo(ctx: RequestContext) -> Any:
    return ctx.body


async def dummy_progress(ctx: RequestContext) -> EventSourceResponse:
    async def events() -> AsyncIterator[dict[str, str]]:
        for step in range(51):
            percent = step * 2
            yield {"event": "progress", "data": json.dumps({"progress": percent, "message": f"{percent}% done."})}
            await asyncio.sleep(0.1)
        yield {"event": "complete", "data": "{}"}

    return EventSourceResponse(events())


async def debug_task(ctx: RequestContext) -> dict[str, str]:
    body = ctx.body
    try:
        steps, tick_ms = int(body.get("steps", 10)), int(body.get("tick", 1000))
    except ValueError:
        raise BadRequest("steps and tick must be integers.") from None
    with_download, fails = bool(body.get("dl")), bool(body.get("fails"))
    task_id = await tasks.register(
        ctx.db, ctx.state.redis, ctx.user_email, "Debug Task",
        lambda task_id: actors.debug_task.send(task_id, steps, tick_ms, with_download, fails),
        "application/octet-stream" if with_download else None,
    )
    return {"taskId": task_id}


ROUTES = [
    ApiRoute("GET", "/status", debug_status, summary="Debug: process status"),
    ApiRoute("POST", "/echo", echo, body="json", summary="Debug: echo the JSON body"),
    ApiRoute("GET", "/dummy-progress", dummy_progress, summary="Debug: an SSE progress stream"),
    ApiRoute("POST", "/tasks/debug-task", debug_task, body="json", body_schema=DEBUG_TASK, status=201,
             summary="Debug: a task that reports progress"),
]
