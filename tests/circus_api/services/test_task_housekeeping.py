"""The API's housekeeping loop stops when cancelled, even if a client library swallows the
cancellation of the call in flight (otherwise the app's shutdown waits forever)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from circus_api.services import tasks


async def test_housekeeping_stops_although_a_call_swallowed_the_cancellation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    started = asyncio.Event()

    async def swallowing_settle(*args: Any) -> None:
        started.set()
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            return  # what a misbehaving client library does with the cancellation

    monkeypatch.setattr(tasks, "settle_dead_tasks", swallowing_settle)
    loop_task = asyncio.create_task(tasks.housekeeping(None, None, {}))  # type: ignore[arg-type]
    await started.wait()
    loop_task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(loop_task, timeout=2)
