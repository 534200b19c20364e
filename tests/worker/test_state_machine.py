"""The worker state machine against the fake Manager: tasks, status changes, may-i-run, exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Self

import psutil
import pytest

from app.worker.client import WorkerClient
from app.worker.config import WorkerConfig
from app.worker.output_uploader import OutputUploader
from app.worker.state_machine import Timings, WorkerStateMachine
from app.worker.task_runner import TaskRunner
from app.worker.upstream_buffer import running_buffer
from tests.worker.conftest import FAST
from tests.worker.fake_manager import FakeManager


class Worker:
    """A state machine with real collaborators, running in the background."""

    def __init__(self, config: WorkerConfig, timings: Timings = FAST, on_asleep=None):
        self.config = config
        self.timings = timings
        self.on_asleep = on_asleep
        self.client = WorkerClient(config.manager_url)
        self.machine: WorkerStateMachine | None = None
        self.task: asyncio.Task[int] | None = None

    async def __aenter__(self) -> Self:
        self._buffer_cm = running_buffer(self.client, self.config.queue_db_path)
        buffer = await self._buffer_cm.__aenter__()
        runner = TaskRunner(buffer, self.config, OutputUploader(self.client), max_log_age_s=0.05)
        self.machine = WorkerStateMachine(self.client, self.config, runner, self.timings,
                                          on_asleep=self.on_asleep)
        self.task = asyncio.create_task(self.machine.run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.task is not None
        if not self.task.done():
            self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self._buffer_cm.__aexit__(None, None, None)
        await self.client.close()


async def until(predicate: Callable[[], bool], timeout: float = 10.0) -> float:
    """Wait until `predicate()`; return the seconds it took."""
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


def _statuses(manager: FakeManager, task_id: str) -> list[str]:
    return [p["taskStatus"] for p in manager.updates_for(task_id) if "taskStatus" in p]


def _echo(message: str) -> list[dict]:
    return [{"name": "echo", "parameters": {"message": message}, "total_step_count": 0}]


@pytest.fixture
async def worker(worker_config: WorkerConfig) -> AsyncIterator[Worker]:
    async with Worker(worker_config) as w:
        yield w


async def test_awake_worker_runs_queued_tasks_back_to_back(fake_manager: FakeManager, worker: Worker) -> None:
    ids = [fake_manager.add_task(_echo(f"task {n}")) for n in range(3)]
    await until(lambda: all(_statuses(fake_manager, t) == ["active", "completed"] for t in ids))
    assert "awake" in [s for _, s in fake_manager.state_changes]
    assert "task 1" in fake_manager.log_of(ids[1])


async def test_task_added_while_idle_is_picked_up_at_once(fake_manager: FakeManager, worker: Worker) -> None:
    await until(lambda: ("POST", "/api/v3/worker/task") in fake_manager.calls)
    await asyncio.sleep(0.3)  # the worker is now inside a held long-poll
    task_id = fake_manager.add_task(_echo("quick"))
    latency = await until(lambda: _statuses(fake_manager, task_id)[:1] == ["active"])
    assert latency < 0.5, f"task started {latency:.2f} s after it was queued"


async def test_stock_manager_without_long_poll_is_not_hammered(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    fake_manager.long_poll = False
    async with Worker(worker_config, Timings(no_task_backoff=0.25, error_backoff_min=0.02)):
        await until(lambda: ("POST", "/api/v3/worker/task") in fake_manager.calls)
        await asyncio.sleep(1.0)
        asks = fake_manager.calls.count(("POST", "/api/v3/worker/task"))
        assert 2 <= asks <= 7
        task_id = fake_manager.add_task(_echo("stock"))
        await until(lambda: _statuses(fake_manager, task_id) == ["active", "completed"], timeout=5)


async def test_lazy_status_request_goes_asleep_then_wakes(fake_manager: FakeManager, worker: Worker) -> None:
    await until(lambda: len(fake_manager.workers) == 1 and fake_manager.state_changes != [])
    worker_id = next(iter(fake_manager.workers))
    fake_manager.request_status(worker_id, "asleep")  # answered with 423 on the held task request
    await until(lambda: fake_manager.workers[worker_id].status == "asleep")
    fake_manager.request_status(worker_id, "awake")
    await until(lambda: fake_manager.workers[worker_id].status == "awake")
    task_id = fake_manager.add_task(_echo("after waking"))
    await until(lambda: _statuses(fake_manager, task_id) == ["active", "completed"])


async def test_falling_asleep_calls_the_hook_that_releases_the_warm_blender(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    calls: list[str] = []

    async def on_asleep() -> None:
        calls.append("asleep")

    async with Worker(worker_config, on_asleep=on_asleep):
        await until(lambda: len(fake_manager.workers) == 1 and fake_manager.state_changes != [])
        assert calls == []
        fake_manager.request_status(next(iter(fake_manager.workers)), "asleep")
        await until(lambda: calls == ["asleep"])


async def test_unknown_status_falls_back_to_asleep(
    fake_manager: FakeManager, worker_config: WorkerConfig
) -> None:
    fake_manager.initial_status = "error"
    async with Worker(worker_config):
        await until(lambda: [s for _, s in fake_manager.state_changes] == ["asleep"])


async def test_409_on_asking_for_work_rechecks_state(fake_manager: FakeManager, worker: Worker) -> None:
    await until(lambda: fake_manager.state_changes != [])
    worker_id = next(iter(fake_manager.workers))
    fake_manager.workers[worker_id].status = "asleep"  # Manager thinks otherwise, no request pending
    fake_manager.poke()
    await until(lambda: [s for _, s in fake_manager.state_changes].count("awake") >= 2)
    task_id = fake_manager.add_task(_echo("still working"))
    await until(lambda: _statuses(fake_manager, task_id) == ["active", "completed"])


@pytest.mark.parametrize("status, code", [("offline", 0), ("restart", 47)])
async def test_offline_and_restart_end_the_machine_with_exit_code(
    fake_manager: FakeManager, worker_config: WorkerConfig, status: str, code: int
) -> None:
    worker_config.restart_exit_code = 47
    async with Worker(worker_config) as w:
        await until(lambda: fake_manager.state_changes != [])
        fake_manager.request_status(next(iter(fake_manager.workers)), status)
        assert w.task is not None
        assert await asyncio.wait_for(w.task, 5) == code


_TREE = """
sleep 60 &
echo $! >> "$PIDS"
sh -c 'sleep 60 & echo $! >> "$PIDS"; wait' &
echo $! >> "$PIDS"
echo $$ >> "$PIDS"
wait
"""


def _tree_task(pids_file: Path) -> list[dict]:
    script = f"export PIDS={pids_file}\n{_TREE}"
    return [{"name": "exec", "parameters": {"exe": "sh", "args": ["-c", script]}, "total_step_count": 0}]


def _read_pids(pids_file: Path) -> list[psutil.Process]:
    return [psutil.Process(int(line)) for line in pids_file.read_text().split()]


def _alive(p: psutil.Process) -> bool:
    try:
        return p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.skipif(sys.platform == "win32", reason="uses sh")
@pytest.mark.parametrize("long_poll", [True, False], ids=["tablao-long-poll", "stock-polling"])
async def test_may_i_run_no_kills_the_task_tree_within_2_s(
    fake_manager: FakeManager, worker_config: WorkerConfig, tmp_path: Path, long_poll: bool
) -> None:
    fake_manager.long_poll = long_poll
    pids_file = tmp_path / "pids"
    async with Worker(worker_config, Timings(may_i_run_poll=0.5, no_task_backoff=0.05)):
        task_id = fake_manager.add_task(_tree_task(pids_file))
        await until(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 4)
        tree = _read_pids(pids_file)
        await asyncio.sleep(0.7)  # let the watcher settle into its polling rhythm
        fake_manager.stop_task(task_id)
        took = await until(lambda: not any(_alive(p) for p in tree), timeout=5)
        assert took < 2.0, f"task tree died {took:.2f} s after may-i-run said no"
        # The worker goes on working afterwards.
        next_id = fake_manager.add_task(_echo("next"))
        await until(lambda: _statuses(fake_manager, next_id) == ["active", "completed"])
    assert "completed" not in _statuses(fake_manager, task_id)


@pytest.mark.skipif(sys.platform == "win32", reason="uses sh")
async def test_immediate_status_change_aborts_task_and_changes_status(
    fake_manager: FakeManager, worker: Worker, tmp_path: Path
) -> None:
    pids_file = tmp_path / "pids"
    fake_manager.add_task(_tree_task(pids_file))
    await until(lambda: pids_file.exists() and len(pids_file.read_text().split()) == 4)
    tree = _read_pids(pids_file)
    worker_id = next(iter(fake_manager.workers))
    fake_manager.request_status(worker_id, "asleep", lazy=False)
    took = await until(lambda: not any(_alive(p) for p in tree), timeout=5)
    assert took < 2.0
    await until(lambda: fake_manager.workers[worker_id].status == "asleep")


async def test_reassigned_task_is_abandoned(fake_manager: FakeManager, worker: Worker) -> None:
    chatty = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"
    task_id = fake_manager.add_task(
        [
            {
                "name": "exec",
                "parameters": {"exe": sys.executable, "args": ["-c", chatty]},
                "total_step_count": 0,
            }
        ]
    )
    await until(lambda: "tick" in fake_manager.log_of(task_id))
    fake_manager.reassigned.add(task_id)  # updates now get 409
    next_id = fake_manager.add_task(_echo("next"))
    took = await until(lambda: _statuses(fake_manager, next_id) == ["active", "completed"], timeout=5)
    assert took < 3.0
