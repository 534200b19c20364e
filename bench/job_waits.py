"""Bench: what jobs that wait for jobs cost the scheduler.

Run by hand: `.venv/bin/python bench/job_waits.py [--quick]`. Prints its figures; asserts nothing.
On a real SQLite store (migrations applied), a running job A and a job B of N tasks that waits for A:
- the claim query (`find_runnable_task`) per call, while B waits: the same for every N, since B's
  tasks count A in `deps_left` and stay out of the partial index `tasks_runnable`; and the rows SQLite
  steps over for one claim (its VM steps), against the same query with no waiting job;
- A completing: the time of the status change that releases B's N tasks (one UPDATE of them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.api.enums import JobStatus, TaskStatus  # noqa: E402
from app.manager.persistence import jobs, scheduler_queries, tasks, workers  # noqa: E402
from app.manager.persistence.db import Store  # noqa: E402
from app.manager.persistence.jobs import NewJob, NewTask  # noqa: E402
from app.manager.state_machine import job_waits  # noqa: E402
from app.manager.state_machine.effects import Effects  # noqa: E402
from app.manager.state_machine.tasks import change_job_status, change_task_status  # noqa: E402

NOW = dt.datetime(2026, 1, 1)
CLAIMS = 2000


def _job(name: str, n_tasks: int) -> NewJob:
    new_tasks = [NewTask(str(uuid.uuid4()), f"t{i}", "misc", i, 50, [{"name": "echo", "parameters": {}}], 1)
                 for i in range(n_tasks)]
    return NewJob(str(uuid.uuid4()), name, "echo-sleep-test", 50, "queued", {}, {}, "linux", "", "", None,
                  NOW, new_tasks)


def run(waiting: int, in_index: bool = False) -> tuple[float, float]:
    """(ms per claim while B waits, ms of the status change that releases B). `in_index`: leave B's tasks
    in the runnable index (their `deps_left` not counting A), only the query's `waiting_on = 0` keeping
    them back: what a claim would cost without the counter."""
    with tempfile.TemporaryDirectory(prefix="tablao-bench-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store.open_sync()
        try:
            return _measure(store, waiting, in_index)
        finally:
            store.close_sync()


def _measure(store: Store, waiting: int, in_index: bool) -> tuple[float, float]:
    worker = store.call_sync(workers.create_worker, uuid=str(uuid.uuid4()), secret_hash="x", name="w",
                             supported_task_types="misc", status="awake", created_at=NOW, updated_at=NOW)
    a = store.call_sync(jobs.store_new_job, _job("A", 1))
    a_task = store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"])

    def start_a() -> None:  # A runs: its one task is active, nothing else is runnable
        task = tasks.fetch_task_by_id(a_task)
        change_task_status(Effects(), task, task.job, TaskStatus.ACTIVE, NOW)

    store.call_sync(start_a)
    if waiting:
        def store_b() -> None:
            b = jobs.store_new_job(_job("B", waiting))
            job_waits.store(Effects(), b, job_waits.JobWaits((a.uuid,)), NOW, change_job_status)
            if in_index:
                tasks.Task.update(deps_left=0).where(tasks.Task.job == b.id).execute()
        store.call_sync(store_b)

    def claims() -> float:
        t0 = time.perf_counter()
        for _ in range(CLAIMS):
            assert scheduler_queries.find_runnable_task(worker.id, ["misc"]) is None
        return (time.perf_counter() - t0) * 1000 / CLAIMS

    per_claim = store.call_sync(claims)

    def complete_a() -> float:
        t0 = time.perf_counter()
        task = tasks.fetch_task_by_id(a_task)
        change_task_status(Effects(), task, task.job, TaskStatus.COMPLETED, NOW)
        assert jobs.fetch_job(a.uuid).status == JobStatus.COMPLETED
        return (time.perf_counter() - t0) * 1000

    release = store.call_sync(complete_a)
    if waiting and not in_index:
        assert store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"]) is not None
    return per_claim, release


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="smaller runs, for a smoke test")
    args = parser.parse_args()
    sizes = (0, 1_000) if args.quick else (0, 1_000, 10_000, 100_000)
    for n in sizes:
        per_claim, release = run(n)
        print(f"{n:>7,} tasks waiting for a running job: claim query {per_claim * 1000:7.1f} µs "
              f"(nothing runnable, {CLAIMS} calls); completing the job it waits for "
              f"{release:7.1f} ms" + (" (releases them)" if n else ""))
    for n in sizes[1:]:
        per_claim, _ = run(n, in_index=True)
        print(f"{n:>7,} waiting tasks left in the runnable index (no counter, only the job's check): "
              f"claim query {per_claim * 1000:9.1f} µs")


if __name__ == "__main__":
    main()
