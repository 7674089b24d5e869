"""Job status as CIRCUS's reporter writes it (spec 5.7), each change also a `status` event.

`processing` + `startedAt`; `finished` + `results` + `finishedAt`; `failed` + `errorMessage`
(`finishedAt` stays null); never `updatedAt`. A missing job document makes the write a no-op.
"""

from __future__ import annotations

import logging
from typing import Any

from circus_api.db import plugin_jobs
from circus_api.db.documents import utcnow
from job_manager.events import JobEvents

log = logging.getLogger(__name__)


class Reporter:
    def __init__(self, events: JobEvents) -> None:
        self.events = events
        self.db = events.db
        self.job_id = events.job_id

    async def processing(self) -> bool:
        """False when the job is no longer queued or running (nothing is written then)."""
        if not await plugin_jobs.mark_processing(self.db, self.job_id, utcnow()):
            return False
        await self._event("processing")
        return True

    async def finished(self, results: dict[str, Any]) -> None:
        if await plugin_jobs.mark_finished(self.db, self.job_id, results, utcnow()):
            await self._event("finished")

    async def failed(self, error_message: str) -> None:
        if await plugin_jobs.mark_failed(self.db, self.job_id, error_message):
            await self._event("failed", error_message)

    async def requeued(self) -> None:
        if await plugin_jobs.mark_requeued(self.db, self.job_id):
            await self._event("in_queue")

    async def _event(self, status: str, error_message: str | None = None) -> None:
        try:
            await self.events.status(status, error_message)
        except Exception:  # the status itself is stored; a lost event must not change the outcome
            log.warning("status event not written", exc_info=True, extra={"job_id": self.job_id})
