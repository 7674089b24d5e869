"""Feedback entries of plug-in jobs (spec 4.10 #47-#50, 5.7).

One personal entry per user, one consensual entry per job, nothing after the consensual one;
personal entries cannot be deleted while a consensual one exists. Adding is one conditional
update (db.plugin_jobs.push_feedback), so concurrent submissions cannot break the rules.
"""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.db import plugin_jobs
from circus_api.db.documents import utcnow
from circus_api.db.ids import new_ulid
from circus_api.db.transactions import lock, with_transaction
from circus_api.errors import BadRequest, NotFound

CONSENSUAL_EXISTS = "A consensual feedback has been already registered."
PERSONAL_EXISTS = "Personal feedback of this user has been already registered."
FEEDBACK_NOT_FOUND = "Feedback not found."
PERSONAL_UNDER_CONSENSUAL = "Cannot delete personal feedback when consensual feedback exists."
JOB_NOT_FOUND = "This job does not exist."
ALL = "all"


async def add_entry(
    db: AsyncDatabase, job_id: str, user_email: str, is_consensual: bool, body: dict[str, Any]
) -> str:
    """Append a personal or consensual entry; returns its new `feedbackId`."""
    now = utcnow()
    entry = {
        "feedbackId": new_ulid(),
        "userEmail": user_email,
        "isConsensual": is_consensual,
        "createdAt": now,
        "data": body.get("data"),
        "actionLog": body.get("actionLog", []),
    }
    if await plugin_jobs.push_feedback(db, job_id, entry, now):
        return str(entry["feedbackId"])
    # refused: read the job again only to tell which rule applied
    entries = await plugin_jobs.find_feedbacks(db, job_id)
    if entries is None:
        raise NotFound(JOB_NOT_FOUND)
    if any(e.get("isConsensual") for e in entries):
        raise BadRequest(CONSENSUAL_EXISTS)
    raise BadRequest(PERSONAL_EXISTS)


def list_entries(job: dict[str, Any]) -> list[dict[str, Any]]:
    """Every entry of a loaded job: all users' personal ones and the consensual one."""
    return list(job.get("feedbacks") or [])


async def delete_entry(db: AsyncDatabase, job_id: str, feedback_id: str) -> None:
    """Delete one entry, or every entry with `all` (transactional, spec 5.8)."""

    async def run(session: AsyncClientSession) -> None:
        # the pseudo-lock makes a concurrent feedback write conflict, so the checks below hold
        await lock(db, plugin_jobs.COLLECTION, {"jobId": job_id}, session)
        entries = await plugin_jobs.find_feedbacks(db, job_id, session)
        if entries is None:
            raise NotFound(JOB_NOT_FOUND)
        if feedback_id == ALL:
            await plugin_jobs.pull_feedback(db, job_id, None, utcnow(), session)
            return
        target = next((e for e in entries if e.get("feedbackId") == feedback_id), None)
        if target is None:
            raise NotFound(FEEDBACK_NOT_FOUND)
        if not target.get("isConsensual") and any(e.get("isConsensual") for e in entries):
            raise BadRequest(PERSONAL_UNDER_CONSENSUAL)
        await plugin_jobs.pull_feedback(db, job_id, feedback_id, utcnow(), session)

    await with_transaction(db.client, run)
