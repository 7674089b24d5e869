"""The dramatiq broker, built once per process before any actor is declared.

dramatiq binds actors to the global broker when they are decorated, so this module is the one
place that builds something at import time: a Redis broker when REDIS_URL is set, otherwise a
stub broker (tests and processes that only read).
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware.asyncio import AsyncIO

from circus_api.settings import Settings


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    broker: dramatiq.Broker = RedisBroker(url=redis_url) if redis_url else StubBroker()
    broker.add_middleware(AsyncIO())
    return broker


broker = build_broker(Settings.from_env().redis_url)
dramatiq.set_broker(broker)
