"""The debug task of spec 4.16: emits progress, optionally writes a download, optionally fails."""

from __future__ import annotations

import asyncio

from circus_api.tasks.progress import TaskFailure, TaskReporter


async def run(reporter: TaskReporter, steps: int, tick_ms: int, with_download: bool, fails: bool) -> None:
    for step in range(1, steps + 1):
        await asyncio.sleep(tick_ms / 1000)
        await reporter.progress(f"Step {step} of {steps}", step, steps, force=True)
    if fails:
        raise TaskFailure("The debug task failed as requested.")
    if with_download:
        partial = reporter.download_path.with_name(f".{reporter.task_id}.partial")
        partial.write_text("Hello.")
        partial.replace(reporter.download_path)
