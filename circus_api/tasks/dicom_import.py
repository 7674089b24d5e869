"""The `Series import` task (spec 4.5 endpoint 14): imports the files a request staged under
`<upload_dir>/<taskId>/`, reporting `Imported <n> entities...` as it goes.

Rejected entries do not stop it (CIRCUS stops at the first one): the valid files are imported,
and the task then ends as an error whose message says what was imported and what was rejected,
so the user cannot miss the files that went to the quarantine.
"""

from __future__ import annotations

from circus_api.services import series_import
from circus_api.settings import Settings
from circus_api.tasks.progress import TaskFailure, TaskReporter

FAILURE_MESSAGE = (
    "The import stopped because of a server error; files not imported yet were discarded. "
    "Please upload them again."
)


async def run(reporter: TaskReporter, settings: Settings, domain: str, anonymize: bool) -> None:
    sources = await series_import.staged_sources(settings, reporter.task_id)
    options = series_import.ImportOptions(domain, reporter.user_email, anonymize, reporter.task_id)

    async def progress(state: series_import.ImportProgress) -> None:
        await reporter.progress(f"Imported {state.imported} entities...", state.files_done, state.files_total)

    summary = await series_import.import_sources(reporter.db, settings, options, sources, progress)
    message = series_import.summary_message(summary)
    if summary.rejected:
        raise TaskFailure(message)
    await reporter.finish(message)
