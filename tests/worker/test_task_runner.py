"""The task runner: the order and content of task updates for whole tasks."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from app.worker.commands import registry
from app.worker.config import WorkerConfig
from app.worker.task_runner import TaskOutcome, TaskRunner
from tests.worker.recording import RecordingSink, make_task


def _runner(sink: RecordingSink, tmp_path: Path) -> TaskRunner:
    return TaskRunner(sink, WorkerConfig(data_dir=tmp_path), max_log_age_s=0.05)


async def test_successful_task_reports_started_progress_and_completed(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task(
        [
            {"name": "echo", "parameters": {"message": "hello"}, "total_step_count": 0},
            {
                "name": "exec",
                "parameters": {"exe": sys.executable, "args": ["-c", "print('from python')"]},
                "total_step_count": 2,
            },
        ]
    )
    assert await _runner(sink, tmp_path).run(task) is TaskOutcome.COMPLETED

    payloads = sink.payloads
    assert payloads[0] == {"taskStatus": "active", "activity": "Started"}
    assert payloads[-1] == {"taskStatus": "completed", "activity": "Completed"}
    steps = [p["steps_completed"] for p in payloads if "steps_completed" in p]
    assert steps == [1, 3]  # a 0-step command counts one step; then the exec's 2
    activities = [p.get("activity") for p in payloads]
    assert "Running command 1/2 'echo'" in activities and "Running command 2/2 'exec'" in activities
    log = sink.log
    assert (
        log.index("command 1/2 'echo' =====") < log.index("hello") < log.index("command 1/2 'echo' finished")
    )
    assert "going to run: " in log and "> from python" in log and "exited with code 0" in log
    # Every log line reached the Manager before the final status.
    assert "log" not in payloads[-1]


async def test_unknown_command_fails_the_task(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task([{"name": "teleport", "parameters": {}, "total_step_count": 0}])
    assert await _runner(sink, tmp_path).run(task) is TaskOutcome.FAILED
    last = sink.payloads[-1]
    assert last["taskStatus"] == "failed"
    assert last["activity"] == "Failed: unknown command 'teleport'"
    assert last["log"].endswith("Failed: unknown command 'teleport'\n")


async def test_failing_command_stops_the_task_with_its_output_logged(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task(
        [
            {
                "name": "exec",
                "parameters": {"exe": sys.executable, "args": ["-c", "print('oops'); exit(3)"]},
                "total_step_count": 0,
            },
            {"name": "echo", "parameters": {"message": "never"}, "total_step_count": 0},
        ]
    )
    assert await _runner(sink, tmp_path).run(task) is TaskOutcome.FAILED
    assert sink.payloads[-1]["activity"].startswith("Failed: ")
    assert "exited with code 3" in sink.payloads[-1]["activity"]
    assert "> oops" in sink.log and "never" not in sink.log


async def test_crashing_command_fails_the_task_not_the_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(ctx: Any, params: Any) -> None:
        raise KeyError("bug")

    monkeypatch.setitem(registry.COMMANDS, "broken", broken)
    sink = RecordingSink()
    task = make_task([{"name": "broken", "parameters": {}, "total_step_count": 0}])
    assert await _runner(sink, tmp_path).run(task) is TaskOutcome.FAILED
    assert "KeyError" in sink.payloads[-1]["activity"]
    assert "Traceback" in sink.log


_CHATTY = "import time\nwhile True:\n    print('tick', flush=True)\n    time.sleep(0.05)\n"


async def test_rejected_update_aborts_a_running_command_quickly(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task(
        [
            {
                "name": "exec",
                "parameters": {"exe": sys.executable, "args": ["-c", _CHATTY]},
                "total_step_count": 0,
            }
        ]
    )
    runner = _runner(sink, tmp_path)
    run = asyncio.create_task(runner.run(task))
    await asyncio.sleep(0.2)
    sink.reject_after = 0  # the next update (the batched log line) gets a 409
    started = time.monotonic()
    assert await asyncio.wait_for(run, 5) is TaskOutcome.ABORTED
    assert time.monotonic() - started < 2
    assert all(p.get("taskStatus") != "failed" for p in sink.payloads)


async def test_cancelling_the_runner_sends_nothing_more(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task([{"name": "sleep", "parameters": {"duration_in_seconds": 30}, "total_step_count": 0}])
    run = asyncio.create_task(_runner(sink, tmp_path).run(task))
    await asyncio.sleep(0.2)
    count = len(sink.payloads)
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    await asyncio.sleep(0.1)
    assert len(sink.payloads) == count
