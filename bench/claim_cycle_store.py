"""Bench: the store's share of a claim+complete cycle, in one process, without HTTP or the event loop.

Run by hand: `.venv/bin/python bench/claim_cycle_store.py [--tasks 3000] [--rounds 3]`; prints figures,
asserts nothing. To compare with another checkout, run this file with `PYTHONPATH=/that/checkout`
from there, alternating the two.

A job of render tasks on SQLite and 50 awake workers; each worker in turn runs what a claim and a
"completed" task update run on the store (`worker_sessions._schedule_sync`, `_task_update_sync`:
the scheduler's statements, the row reads, the status machine, the events and log lines they
collect), all in one transaction. The figure is the process's CPU time per cycle; what HTTP,
savepoints, commits and the effects' fan-out add is measured by `bench/http_floor.py`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.api.enums import JobStatus, TaskStatus  # noqa: E402
from app.manager.persistence import jobs, workers  # noqa: E402
from app.manager.persistence.db import Store  # noqa: E402
from app.manager.persistence.jobs import NewJob, NewTask  # noqa: E402
from app.manager.runtime.gc_pace import pace_collector  # noqa: E402
from app.manager.state_machine.effects import Effects  # noqa: E402
from app.manager.state_machine.failures import FailurePolicy  # noqa: E402
from app.manager.workers import worker_sessions  # noqa: E402
from app.manager.workers.task_runs import RenderStats  # noqa: E402

NOW = dt.datetime(2026, 3, 1, 12, 0, 0)
WORKERS = 50


def _job(tasks: int) -> NewJob:
    cmds = [{"name": "blender-render", "parameters": {"exe": "{blender}", "args": ["--render-frame", "1..1"],
                                                      "blendfile": "/shots/a.blend"}}]
    settings = {"blendfile": "/shots/a.blend", "frames": f"1-{tasks}", "chunk_size": 1}
    return NewJob(str(uuid.uuid4()), "job", "simple-blender-render", 50, JobStatus.QUEUED.value, settings,
                  {"user.name": "bench"}, "linux", "", "", None, NOW,
                  [NewTask(str(uuid.uuid4()), f"t{i}", "blender", i, 50, cmds, 1, []) for i in range(tasks)])


def run(tasks: int) -> float:
    with tempfile.TemporaryDirectory(prefix="tablao-bench-store-") as folder:
        store = Store(f"sqlite:///{folder}/bench.sqlite")
        store.open_sync()
        store.call_sync(jobs.store_new_job, _job(tasks))
        farm = [store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name=f"w{i}",
                                supported_task_types="blender", status="awake", created_at=NOW, updated_at=NOW)
                for i in range(WORKERS)]
        policy = FailurePolicy()

        def cycles(rounds: int) -> None:
            now = NOW
            for _ in range(rounds):
                now += dt.timedelta(seconds=2)
                for worker in farm:
                    claimed = worker_sessions._schedule_sync(Effects(), now, worker.id, None)
                    worker_sessions._task_update_sync(Effects(), now, worker.id, claimed.task.uuid,
                                                      TaskStatus.COMPLETED, "done", None, policy,
                                                      RenderStats(1.0, 10.0))

        store.call_sync(cycles, 2)  # warm up
        rounds = (tasks - 2 * WORKERS) // WORKERS
        cpu0 = time.process_time()
        store.call_sync(cycles, rounds)
        cpu = time.process_time() - cpu0
        store.close_sync()
    return 1e6 * cpu / (rounds * WORKERS)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tasks", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    pace_collector()  # as in a Manager process
    gc.collect()
    for _ in range(args.rounds):
        print(f"{run(args.tasks):.0f} us CPU per claim+complete on the store ({args.tasks} tasks, {WORKERS} workers)",
              flush=True)


if __name__ == "__main__":
    main()
