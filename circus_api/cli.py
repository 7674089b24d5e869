"""`circus`: the one command a person runs (up, serve, worker, migrate, and admin scripts)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click
import uvicorn
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from admin import accounts
from admin.case_cli import register_case_commands
from admin.cli import register_admin_commands
from admin.dicom_cli import register_dicom_commands
from admin.job_cli import register_job_commands
from admin.plugin_cli import install_samples_on_first_start, register_plugin_commands
from circus_api import launcher, logs
from circus_api.app import create_app
from circus_api.db.indexes import ensure_indexes
from circus_api.embedded import docker_engine_status
from circus_api.settings import Settings, SettingsError
from job_manager.cli import register_job_manager_commands

T = TypeVar("T")


def load_settings(**overrides: Any) -> Settings:
    try:
        settings = Settings.from_env().with_overrides(**overrides)
        settings.ensure_dirs()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None
    return settings


def run_with_database(settings: Settings, action: Callable[[AsyncDatabase], Awaitable[T]]) -> T:
    """Run one async action against the platform's database (embedded if nothing is configured)."""
    with launcher.infrastructure(settings, need_redis=False) as ready:
        return asyncio.run(_with_client(ready, action))


async def _with_client(settings: Settings, action: Callable[[AsyncDatabase], Awaitable[T]]) -> T:
    assert settings.mongo_url is not None
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(settings.mongo_url, timeoutMS=30_000)
    try:
        return await action(client[settings.database])
    finally:
        await client.close()


@click.group()
def main() -> None:
    """circus: a radiology case database that runs CAD plug-ins (a CIRCUS re-implementation)."""
    logs.configure()


def _serve_api(settings: Settings) -> None:
    config = uvicorn.Config(
        create_app(settings), host=settings.host, port=settings.port, log_config=None, proxy_headers=True,
        forwarded_allow_ips="*", timeout_graceful_shutdown=10,
    )
    # uvicorn re-raises SIGINT/SIGTERM after its graceful shutdown; turn SIGTERM into SystemExit so
    # the callers' `with` blocks still stop the workers and embedded servers (SIGINT already raises)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    uvicorn.Server(config).run()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


async def _prepare_database(db: AsyncDatabase, settings: Settings) -> tuple[str, str] | None:
    for problem in await ensure_indexes(db):
        click.echo(f"warning: index not created: {problem}", err=True)
    return await accounts.bootstrap_first_admin(db, settings.admin_email, settings.admin_password)


@main.command()
@click.option("--host", help="Address to listen on (default 127.0.0.1, env CIRCUS_HOST).")
@click.option("--port", type=int, help="Port to listen on (default 8080, env CIRCUS_PORT).")
@click.option("--workers", "worker_processes", type=int, default=None,
              help="Task worker processes to start (default: one per CPU core).")
def up(host: str | None, port: int | None, worker_processes: int | None) -> None:
    """Start the whole platform on embedded defaults: database, broker, API, workers, job manager."""
    settings = load_settings(host=host, port=port)
    with launcher.infrastructure(settings, need_redis=True) as ready:
        assert ready.mongo_url is not None
        created = asyncio.run(_with_client(ready, lambda db: _prepare_database(db, ready)))
        if created:
            click.echo(f"Created the first administrator: login {created[0]} password {created[1]}")
        engine_ok, engine_message = docker_engine_status()
        click.echo(("" if engine_ok else "warning: ") + engine_message, err=not engine_ok)
        if engine_ok:  # first start: build and register the sample plug-ins (never fatal)
            asyncio.run(_with_client(ready, lambda db: install_samples_on_first_start(db, ready)))
        with contextlib.ExitStack() as children:
            if worker_processes is None or worker_processes > 0:
                processes = [] if worker_processes is None else ["--processes", str(worker_processes)]
                children.enter_context(launcher.child_process(["worker", *processes], ready))
            children.enter_context(launcher.child_process(["job-manager"], ready))
            click.echo(f"circus is up at http://{ready.host}:{ready.port}/ (API under /api). Ctrl-C stops it.")
            _serve_api(ready)
        click.echo("circus stopped.")


@main.command()
@click.option("--host", "-i", help="Address to listen on (default 127.0.0.1, env CIRCUS_HOST).")
@click.option("--port", "-p", type=int, help="Port to listen on (default 8080, env CIRCUS_PORT).")
@click.option("--debug", "-d", is_flag=True, default=None, help="Enable the debug-only routes and stack traces.")
@click.option("--fix-user", "-f", help="Act as this user on every request (no authentication; debug only).")
@click.option("--no-workers", is_flag=True, help="Do not start task workers (production runs them apart).")
def serve(host: str | None, port: int | None, debug: bool | None, fix_user: str | None, no_workers: bool) -> None:
    """Serve the API alone against MONGO_URL/CIRCUS_DB (never starts the job manager)."""
    settings = load_settings(host=host, port=port, debug=debug, fix_user=fix_user)
    if settings.mongo_url is None:
        settings = settings.with_overrides(mongo_url="mongodb://127.0.0.1:27017/")
    with launcher.infrastructure(settings, need_redis=not no_workers) as ready, contextlib.ExitStack() as children:
        if not no_workers:
            children.enter_context(launcher.child_process(["worker"], ready))
        _serve_api(ready)


@main.command()
@click.option("--processes", type=int, default=os.cpu_count() or 1, show_default="one per CPU core",
              help="Worker processes: tasks parse DICOM in Python, so one process can use one core only.")
@click.option("--threads", type=int, default=2, show_default=True, help="Tasks each process runs at once.")
def worker(processes: int, threads: int) -> None:
    """Run task workers (DICOM import, exports) on the dramatiq broker at REDIS_URL."""
    settings = load_settings()
    with launcher.infrastructure(settings, need_redis=True) as ready:
        command = [sys.executable, "-m", "dramatiq", "circus_api.tasks.actors",
                   "--processes", str(processes), "--threads", str(threads)]
        raise SystemExit(launcher.run_foreground(command, launcher.child_environment(ready)))


@main.command()
def migrate() -> None:
    """Create the indexes (idempotent; safe on an existing CIRCUS database)."""
    settings = load_settings()
    problems = run_with_database(settings, ensure_indexes)
    for problem in problems:
        click.echo(f"warning: {problem}", err=True)
    click.echo("Indexes are up to date." if not problems else "Some indexes could not be created.")


register_admin_commands(main, load_settings, run_with_database)
register_job_manager_commands(main, load_settings, run_with_database)
register_case_commands(main, load_settings, run_with_database)
register_dicom_commands(main, load_settings, run_with_database)
register_plugin_commands(main, load_settings, run_with_database)
register_job_commands(main, load_settings, run_with_database)

if __name__ == "__main__":
    main()
