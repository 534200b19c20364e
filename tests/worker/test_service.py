"""The worker service end to end against the fake Manager: exit codes, sign-off, crash-safe updates."""

from __future__ import annotations

import asyncio
import time

import pytest

from app.worker import service
from app.worker.config import WorkerConfig
from app.worker.service import WorkerService, run_worker
from tests.worker.conftest import FAST
from tests.worker.fake_manager import FakeManager
from tests.worker.test_state_machine import until


def _statuses(manager: FakeManager, task_id: str) -> list[str]:
    return [p["taskStatus"] for p in manager.updates_for(task_id) if "taskStatus" in p]


async def test_without_manager_url_run_worker_refuses(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert await run_worker(WorkerConfig(data_dir=tmp_path)) == service.EXIT_CONFIG_ERROR


async def test_offline_request_returns_0_after_signing_off(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    run = asyncio.create_task(run_worker(worker_config))
    task_id = fake_manager.add_task(
        [{"name": "echo", "parameters": {"message": "hi"}, "total_step_count": 0}]
    )
    await until(lambda: _statuses(fake_manager, task_id) == ["active", "completed"])
    fake_manager.request_status(next(iter(fake_manager.workers)), "offline")
    assert await asyncio.wait_for(run, 10) == 0
    assert len(fake_manager.sign_offs) == 1


async def test_cancelling_signs_off_quickly_and_propagates(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    run = asyncio.create_task(WorkerService(worker_config, FAST).run())
    await until(lambda: fake_manager.state_changes != [])
    started = time.monotonic()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert time.monotonic() - started < 3
    assert len(fake_manager.sign_offs) == 1


async def test_updates_queued_during_an_outage_survive_a_worker_restart(
    fake_manager: FakeManager, worker_config: WorkerConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "FLUSH_TIMEOUT_S", 0.3)
    monkeypatch.setattr(service, "SIGN_OFF_TIMEOUT_S", 0.3)
    sleep_then_echo = [
        {"name": "sleep", "parameters": {"duration_in_seconds": 0.6}, "total_step_count": 0},
        {"name": "echo", "parameters": {"message": "done sleeping"}, "total_step_count": 0},
    ]
    task_id = fake_manager.add_task(sleep_then_echo)
    first = asyncio.create_task(WorkerService(worker_config, FAST).run())
    await until(lambda: _statuses(fake_manager, task_id) == ["active"])
    await fake_manager.stop()  # the task finishes while the Manager is down
    await asyncio.sleep(1.5)
    first.cancel()  # the worker stops with the updates still queued on disk
    with pytest.raises(asyncio.CancelledError):
        await first
    assert _statuses(fake_manager, task_id) == ["active"]

    await fake_manager.start()
    second = asyncio.create_task(WorkerService(worker_config, FAST).run())
    await until(lambda: _statuses(fake_manager, task_id) == ["active", "completed"])
    assert "done sleeping" in fake_manager.log_of(task_id)
    second.cancel()
    with pytest.raises(asyncio.CancelledError):
        await second
