"""Running tasks for real in tests: the app's Redis broker and an in-process dramatiq worker."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dramatiq
import redis

from circus_api.settings import Settings
from circus_api.tasks import runtime


@contextmanager
def running_worker(settings: Settings) -> Iterator[dramatiq.Worker]:
    """A dramatiq worker on the currently installed broker, whose tasks use `settings`."""
    runtime.configure(settings)
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=2, worker_timeout=100)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()


def flush_redis(url: str) -> None:
    client = redis.Redis.from_url(url)
    client.flushdb()
    client.close()


def wait_until(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError("condition not met in time")
