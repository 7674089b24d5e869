"""Task events between processes, over Redis (the broker's server, so nothing new to run).

- every task event is published on one channel; `/tasks/report` streams subscribe to it;
- the latest progress of a running task is kept under a key, so a client that connects late
  gets the current state first;
- a liveness key, renewed by the worker while the task runs, tells a running task from one whose
  worker died (spec 5.6 Re-impl: a heartbeat instead of process memory).
"""

from __future__ import annotations

import json
from typing import Any, Literal

import redis.asyncio as aioredis

CHANNEL = "circus:task-events"
PROGRESS_TTL_S = 24 * 3600
QUEUED_TTL_S = 6 * 3600  # a registered task may wait this long for a free worker
RUNNING_TTL_S = 30  # a running task's worker renews its key well within this
HEARTBEAT_INTERVAL_S = 10

EventKind = Literal["progress", "finish", "error"]


def _progress_key(task_id: str) -> str:
    return f"circus:task-progress:{task_id}"


def _alive_key(task_id: str) -> str:
    return f"circus:task-alive:{task_id}"


def event_payload(
    task_id: str, message: str, finished: int | None = None, total: int | None = None
) -> dict[str, Any]:
    """The JSON of an SSE event: `finished`/`total` only when known (spec 5.6)."""
    payload: dict[str, Any] = {"taskId": task_id, "message": message}
    if finished is not None:
        payload["finished"] = finished
    if total is not None:
        payload["total"] = total
    return payload


async def publish(
    client: aioredis.Redis, user_email: str, kind: EventKind, payload: dict[str, Any]
) -> None:
    message = json.dumps({"userEmail": user_email, "event": kind, "data": payload})
    async with client.pipeline(transaction=False) as pipe:
        if kind == "progress":
            pipe.set(_progress_key(payload["taskId"]), json.dumps(payload), ex=PROGRESS_TTL_S)
        else:
            pipe.delete(_progress_key(payload["taskId"]), _alive_key(payload["taskId"]))
        pipe.publish(CHANNEL, message)
        await pipe.execute()


async def latest_progress(client: aioredis.Redis, task_id: str) -> dict[str, Any] | None:
    raw = await client.get(_progress_key(task_id))
    return json.loads(raw) if raw else None


async def mark_alive(client: aioredis.Redis, task_id: str, ttl_s: int) -> None:
    await client.set(_alive_key(task_id), "1", ex=ttl_s)


async def alive(client: aioredis.Redis, task_ids: list[str]) -> dict[str, bool]:
    if not task_ids:
        return {}
    values = await client.mget([_alive_key(t) for t in task_ids])
    return {task_id: value is not None for task_id, value in zip(task_ids, values, strict=True)}
