"""Bench: what the Manager's status lines in task logs cost per task, CPU of every thread included.

Run by hand: `.venv/bin/python bench/task_log_lines.py [--tasks 3000]`; prints figures, asserts nothing.
To compare with another checkout, run this file with `PYTHONPATH=/that/checkout` from there.

The load of `bench/http_floor.py`'s farm, without HTTP or store: tasks in groups of 8 get their
"queued -> active" line, a loop turn later their "active -> completed" line, 1 ms apart, as
`StatusMachine.apply` queues them after each commit. The lines go through `TaskLogs` to real files
in a temporary folder; the figure is the process's CPU time (user and system, the IO thread's file
calls included) per task until everything is written.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.manager.jobs.local_storage import LocalStorage  # noqa: E402
from app.manager.jobs.task_logs import TaskLogs  # noqa: E402


async def run(task_count: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="tablao-bench-logs-") as folder:
        logs = TaskLogs(LocalStorage(Path(folder)))
        job = str(uuid.uuid4())
        tasks = [str(uuid.uuid4()) for _ in range(task_count)]
        cpu0, wall0 = time.process_time(), time.perf_counter()
        for start in range(0, task_count, 8):
            group = tasks[start:start + 8]
            logs.queue_manager_lines([(job, t, "task changed status queued -> active: assigned to worker w")
                                      for t in group])
            await asyncio.sleep(0.001)
            logs.queue_manager_lines([(job, t, "task changed status active -> completed") for t in group])
            await asyncio.sleep(0.001)
        await logs.drain()
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        await logs.close()
    return cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.rounds):
        cpu, wall = asyncio.run(run(args.tasks))
        print(f"{args.tasks} tasks, 2 status lines each: {1e6 * cpu / args.tasks:.0f} us CPU per task, "
              f"{wall:.2f} s until written", flush=True)


if __name__ == "__main__":
    main()
