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
from circus_api.routing import ApiRoute
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


ROUTES = [
    ApiRoute("GET", "/status", debug_status, summary="Debug: process status"),
    ApiRoute("POST", "/echo", echo, body="json", summary="Debug: echo the JSON body"),
    ApiRoute("GET", "/dummy-progress", dummy_progress, summary="Debug: an SSE progress stream"),
]
