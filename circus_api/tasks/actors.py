"""Actors: thin wrappers that run the task functions with explicit retry and time limits.

dramatiq's defaults (20 retries, 10 minutes) are wrong for non-idempotent imports, so every actor
states its own.
"""

from __future__ import annotations

import dramatiq

from circus_api.tasks.broker import broker

__all__ = ["broker"]


@dramatiq.actor(max_retries=0, time_limit=60_000)
async def ping() -> str:
    """A no-op used to check that a worker answers."""
    return "pong"
