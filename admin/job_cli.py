"""`circus job register`: the `register-plugin-job` script of spec 8 (plugins-and-jobs 2.9).

The job is created by the same service as `POST /api/plugin-jobs` (one transaction, every check,
the duplicate rule without force), with the privileges of `--user`. Command errors exit non-zero
with the message (CIRCUS exits 0; spec 8 Re-impl).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import click
from pymongo.asynchronous.database import AsyncDatabase

from admin import accounts
from admin.case_cli import parse_series_argument
from circus_api.errors import CircusError
from circus_api.privileges import compute_privileges
from circus_api.services import plugin_jobs
from circus_api.settings import Settings

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]


@click.group()
def job() -> None:
    """Register plug-in jobs."""


def register_job_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> None:
    @job.command("register")
    @click.argument("plugin")
    @click.argument("series", nargs=-1, required=True)
    @click.option("--user", "user_name", required=True, help="E-mail or login ID of the job's registerer.")
    @click.option("--priority", type=int, default=0, show_default=True, help="Higher runs first; may be negative.")
    def register(plugin: str, series: tuple[str, ...], user_name: str, priority: int) -> None:
        """Register a job like POST /api/plugin-jobs, with USER's privileges, and print its ID.

        PLUGIN is a plug-in ID or exact name; each SERIES is UID or UID:START:END:DELTA (default:
        the first contiguous run of the series' images, delta 1).
        """
        entries = [parse_series_argument(text) for text in series]
        settings = load_settings()

        async def action(db: AsyncDatabase) -> str:
            user = await accounts.resolve_user(db, user_name)
            privileges = await compute_privileges(db, user)
            return await plugin_jobs.register_from_cli(
                db, settings, user["userEmail"], privileges, plugin, entries, priority
            )

        try:
            click.echo(run(settings, action))
        except CircusError as exc:
            raise click.ClickException(exc.message) from None

    main.add_command(job)
