"""The `farm` fixture: a Manager on a fixed free port plus real worker processes on demand."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.conftest import RunningManager, make_config
from tests.e2e.farm import WorkerProcess, free_port


@pytest.fixture
async def farm(tmp_path: Path):
    """Start a Manager on a fixed free port plus N worker processes on demand."""
    state = {"workers": [], "manager": None}
    port = free_port()

    async def start_manager(**overrides) -> RunningManager:
        cfg = make_config(tmp_path, listen=f"127.0.0.1:{port}", **overrides)
        state["manager"] = await RunningManager(cfg).start()
        return state["manager"]

    def start_workers(n: int) -> list[WorkerProcess]:
        made = [WorkerProcess(f"http://127.0.0.1:{port}", tmp_path, f"w{len(state['workers']) + i}").start()
                for i in range(n)]
        state["workers"].extend(made)
        return made

    yield start_manager, start_workers, state
    # In threads, all at once: a stopping worker signs off with the Manager, which runs in this event
    # loop; waiting for each in turn here blocked the loop, and each sign-off waited out its timeout.
    await asyncio.gather(*(asyncio.to_thread(w.stop) for w in state["workers"]))
    if state["manager"] is not None:
        await state["manager"].stop()
