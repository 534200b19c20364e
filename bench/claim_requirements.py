"""Bench: what scene requirements cost a claim (the scheduler's one statement), on a SQLite store.

Run by hand: `.venv/bin/python bench/claim_requirements.py [--ahead 0 1000 10000] [--claims 200]`.
Prints one row per queue; asserts nothing.

A CPU-only worker (its facts say no GPU) claims from a queue where `--ahead` tasks of higher
priority belong to jobs it may not run, and one task of a plain job it may run comes last. Each row
gives the median and 95th-percentile time of one claim statement (`find_runnable_task`, nothing
handed out) when the tasks ahead need a GPU, and, for comparison, when they carry a worker tag the
worker lacks: the claim skips both the same way, row by row along the index, so their cost per
skipped task is what to compare. With no tasks ahead it is the claim's floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.manager.persistence import jobs, scheduler_queries, workers  # noqa: E402
from app.manager.persistence.db import Store  # noqa: E402
from app.manager.persistence.jobs import NewJob, NewTask  # noqa: E402
from app.manager.persistence.requirements import (  # noqa: E402
    JobNeeds,
    WorkerFactsRow,
    store_job_needs,
    store_worker_facts,
)

NOW = dt.datetime(2026, 1, 1)


def _job(tasks: int, priority: int, tag: str | None = None) -> NewJob:
    new_tasks = [NewTask(str(uuid.uuid4()), f"t{i}", "misc", i + 1, 50, [{"name": "echo", "parameters": {}}], 1)
                 for i in range(tasks)]
    return NewJob(str(uuid.uuid4()), "j", "echo-sleep-test", priority, "queued", {}, {}, "linux", "", "", tag,
                  NOW, new_tasks)


def _fill(store: Store, ahead: int, kind: str) -> int:
    """The queue: `ahead` tasks the worker may not run (in jobs of 100), one plain task last."""
    def fill() -> int:
        tag = None
        if kind == "tag":
            tag = workers.create_tag(str(uuid.uuid4()), "gpu-farm", "").uuid
        for _ in range(0, ahead, 100):
            job = jobs.store_new_job(_job(min(100, ahead), 90, tag))
            if kind == "gpu":
                store_job_needs(job.id, JobNeeds(gpu=2, shown={"device": "GPU"}))
        jobs.store_new_job(_job(1, 10))
        worker = workers.create_worker(uuid=str(uuid.uuid4()), secret_hash="x", name="laptop",
                                       supported_task_types="misc", status="awake", created_at=NOW,
                                       updated_at=NOW)
        store_worker_facts(worker.id, WorkerFactsRow(0, 16 * 1024**3, "3.4.1", 3004))
        return worker.id
    return store.call_sync(fill)


def _measure(ahead: int, kind: str, claims: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory(prefix="tablao-bench-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store.open_sync()
        try:
            worker_id = _fill(store, ahead, kind)
            times = []
            for _ in range(claims):
                start = time.perf_counter()
                found = store.call_sync(scheduler_queries.find_runnable_task, worker_id, ["misc"])
                times.append(time.perf_counter() - start)
                assert found is not None  # the plain task, behind the ones skipped
        finally:
            store.close_sync()
    times.sort()
    return statistics.median(times) * 1000, times[int(len(times) * 0.95)] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ahead", type=int, nargs="*", default=[0, 1000, 10000])
    parser.add_argument("--claims", type=int, default=200)
    args = parser.parse_args()
    print(f"{'tasks ahead':>11}  {'GPU-needing: median / p95 ms':>29}  {'tagged: median / p95 ms':>24}")
    for ahead in args.ahead:
        gpu = _measure(ahead, "gpu", args.claims)
        tag = _measure(ahead, "tag", args.claims)
        print(f"{ahead:>11}  {gpu[0]:>16.3f} / {gpu[1]:<10.3f}  {tag[0]:>11.3f} / {tag[1]:<10.3f}")


if __name__ == "__main__":
    main()
