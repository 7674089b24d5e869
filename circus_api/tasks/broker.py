"""The dramatiq broker of this process.

dramatiq binds actors to the global broker when they are decorated, so a broker is installed at
import from the environment (what worker processes need), and `install_broker` moves the declared
actors to another one (the API's lifespan, from its settings; tests, on their own Redis).
Without a Redis URL the broker is a stub: messages stay in memory.
"""

from __future__ import annotations

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Middleware
from dramatiq.middleware.asyncio import AsyncIO

from circus_api.settings import Settings
from circus_api.tasks import runtime


class CloseRuntime(Middleware):
    """Closes the worker's database clients on its event loop before AsyncIO stops the loop."""

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        loop_thread = get_event_loop_thread()
        if loop_thread is not None:
            loop_thread.run_coroutine(runtime.close())


class PromptPickup(Middleware):
    """Idle consumers poll every 100 ms at most instead of dramatiq's 1 s back-off, so a task a
    user is watching starts at once (a poll is one cheap Redis script call)."""

    POLL_MS = 100

    def before_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        worker.worker_timeout = min(worker.worker_timeout, self.POLL_MS)


def build_broker(redis_url: str | None) -> dramatiq.Broker:
    broker: dramatiq.Broker = RedisBroker(url=redis_url) if redis_url else StubBroker()
    broker.add_middleware(PromptPickup())
    broker.add_middleware(CloseRuntime())  # before AsyncIO: its shutdown hook must run first
    broker.add_middleware(AsyncIO())
    return broker


def install_broker(redis_url: str | None) -> dramatiq.Broker:
    """Make a broker on `redis_url` the global one and re-declare every known actor on it."""
    previous = dramatiq.get_broker()
    broker = build_broker(redis_url)
    dramatiq.set_broker(broker)
    for actor in previous.actors.values():
        actor.broker = broker
        broker.declare_actor(actor)
    return broker


broker = build_broker(Settings.from_env().redis_url)
dramatiq.set_broker(broker)
