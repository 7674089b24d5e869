"""The job manager's error tree: what fails a job, and what only sends it back to the queue."""

from __future__ import annotations

import asyncio


class JobError(Exception):
    """The job failed; the message is the job's `errorMessage` and must read well to a user."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class EngineUnavailable(Exception):
    """The Docker engine stopped answering: not the plug-in's fault, the job goes back to the queue."""


def cancellation_pending() -> bool:
    """Whether the current task was asked to stop. pymongo may turn a cancellation that hits it
    mid-operation into a connection error, so `except Exception` handlers must check this."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
