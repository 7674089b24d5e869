"""`circus job-manager [--slots N] [--gpu-slots N]` runs the daemon; `status` and `list-queue`
are the operator's views (CS Core's `cui status` / `cui list-queue`)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import Awaitable, Callable
from typing import Any

import click
from pymongo.asynchronous.database import AsyncDatabase

from circus_api.settings import Settings
from job_manager import managers, queue, switch
from job_manager.daemon import Daemon

SettingsLoader = Callable[..., Settings]
DatabaseRunner = Callable[[Settings, Callable[[AsyncDatabase], Awaitable[Any]]], Any]


async def run_daemon(settings: Settings, db: AsyncDatabase) -> None:
    """The daemon until SIGTERM/SIGINT (then running jobs get the grace period)."""
    daemon = Daemon(settings, db)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, daemon.request_stop)
    await daemon.run()


async def status_report(db: AsyncDatabase) -> dict[str, Any]:
    return {
        "status": await switch.get_status(db),
        "managers": await managers.list_managers(db),
        "queue": {state: await queue.count(db, state) for state in ("wait", "processing")},
    }


def _format_status(report: dict[str, Any]) -> str:
    lines = [f"switch: {report['status']}",
             f"queue: {report['queue']['wait']} waiting, {report['queue']['processing']} processing"]
    if not report["managers"]:
        lines.append("no job manager is registered")
    for doc in report["managers"]:
        docker = "docker ok" if doc.get("dockerAvailable") else f"docker NOT available ({doc.get('dockerMessage')})"
        stale = " (stale)" if doc["stale"] else ""
        lines.append(
            f"manager {doc['managerId']}{stale}: host {doc.get('host')} pid {doc.get('pid')}, "
            f"slots {doc.get('slots')} + {doc.get('gpuSlots')} GPU, running {doc.get('runningJobs') or []}, "
            f"{docker}, heartbeat {doc.get('heartbeatAt')}"
        )
    return "\n".join(lines)


def register_job_manager_commands(main: click.Group, load_settings: SettingsLoader, run: DatabaseRunner) -> None:
    @main.group("job-manager", invoke_without_command=True)
    @click.option("--slots", type=click.IntRange(min=0), help="Concurrent jobs without GPU (env CIRCUS_JOB_SLOTS).")
    @click.option("--gpu-slots", type=click.IntRange(min=0),
                  help="Concurrent GPU jobs, counted apart (env CIRCUS_JOB_GPU_SLOTS; 0: none).")
    @click.pass_context
    def job_manager(ctx: click.Context, slots: int | None, gpu_slots: int | None) -> None:
        """Run the plug-in job manager daemon (several may share one database)."""
        if ctx.invoked_subcommand is not None:
            return
        settings = load_settings(job_slots=slots, job_gpu_slots=gpu_slots)
        run(settings, lambda db: run_daemon(settings, db))

    @job_manager.command("status")
    @click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
    def status(as_json: bool) -> None:
        """Show the switch, the queue counts and every registered manager."""
        report = run(load_settings(), status_report)
        click.echo(json.dumps(report, default=str, indent=2) if as_json else _format_status(report))

    @job_manager.command("list-queue")
    @click.option("-w", "--wait", "state", flag_value="wait", default=True, help="Waiting jobs (default).")
    @click.option("-p", "--processing", "state", flag_value="processing", help="Running jobs.")
    @click.option("-a", "--all", "state", flag_value="all", help="Everything in the queue.")
    def list_queue(state: queue.ListState) -> None:
        """List queue rows in queue order (priority first)."""
        for row in run(load_settings(), lambda db: queue.list_queue(db, state)):
            owner = f" owner={row['owner']} attempt={row.get('attempts')}" if row.get("owner") else ""
            plugin_id = str(row.get("payload", {}).get("pluginId", ""))[:12]
            click.echo(f"{row['jobId']}\t{row['state']}\tpriority={row.get('priority', 0)}\t"
                       f"plugin={plugin_id}\tqueued={row.get('createdAt')}{owner}")
