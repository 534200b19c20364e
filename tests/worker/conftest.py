"""Fixtures for worker tests: a running fake Manager and a worker config pointing at it."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.worker.config import WorkerConfig
from app.worker.state_machine import Timings
from tests.worker.fake_manager import FakeManager

FAKE_BLENDER = Path(__file__).resolve().parents[1] / "fakes" / "fake_blender.py"
#: `sandbox_read_paths` for a worker that runs the fake Blender: the checkout may lie in a folder the
#: sandbox hides (/tmp, a home folder), as a user's own scripts may.
FAKES_READABLE = [str(FAKE_BLENDER.parent)]
#: Short delays so state-machine tests run fast but still exercise the back-off paths.
FAST = Timings(
    no_task_backoff=0.05, asleep_poll=0.05, may_i_run_poll=0.05, error_backoff_min=0.02, error_backoff_max=0.1
)


@pytest.fixture
async def fake_manager() -> AsyncIterator[FakeManager]:
    manager = FakeManager()
    await manager.start()
    try:
        yield manager
    finally:
        await manager.stop()


@pytest.fixture
def worker_config(tmp_path: Path, fake_manager: FakeManager) -> WorkerConfig:
    return WorkerConfig(
        worker_name="test-worker",
        manager_url=fake_manager.url,
        data_dir=tmp_path / "worker-data",
        task_wait_s=2.0,
        may_i_run_wait_s=2.0,
    )


@pytest.fixture
def fake_blender_argv() -> list[str]:
    """`exe` + `exeArgs` that run the fake Blender with this Python."""
    return [sys.executable, str(FAKE_BLENDER)]
