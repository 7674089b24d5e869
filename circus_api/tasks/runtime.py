"""What task functions need in a worker process: settings, MongoDB, Redis and the blob store.

Built lazily on the worker's event loop (clients are bound to the loop that made them), once per
process. Tests point it at their own settings with `configure`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import redis.asyncio as aioredis
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from blob_store import BlobStore, create_blob_store
from circus_api.settings import Settings


@dataclass
class WorkerRuntime:
    settings: Settings
    client: AsyncMongoClient[dict[str, Any]]
    db: AsyncDatabase
    redis: aioredis.Redis
    blobs: BlobStore  # voxel label data (MHD export)


_settings: Settings | None = None
_runtime: WorkerRuntime | None = None


def configure(settings: Settings) -> None:
    """Use these settings instead of the environment's (tests, embedded workers)."""
    global _settings, _runtime
    _settings, _runtime = settings, None


def connect(settings: Settings) -> WorkerRuntime:
    if settings.redis_url is None:
        raise RuntimeError("REDIS_URL is not set: task workers need the broker's Redis")
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        settings.mongo_url or "mongodb://127.0.0.1:27017/", timeoutMS=60_000
    )
    db = client[settings.database]
    blobs = create_blob_store(settings.blob_store, directory=settings.blob_dir, db=db)
    return WorkerRuntime(settings, client, db, aioredis.from_url(settings.redis_url), blobs)


def get_runtime() -> WorkerRuntime:
    global _runtime
    if _runtime is None:
        _runtime = connect(_settings or Settings.from_env())
    return _runtime


async def close() -> None:
    """Close this process's clients (on the loop that made them) before the worker stops."""
    global _runtime
    if _runtime is not None:
        runtime, _runtime = _runtime, None
        await runtime.redis.aclose()
        await runtime.client.close()
