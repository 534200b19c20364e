"""Bench: the CPU a claim costs under fair share, with many queued jobs from many submitters.

Run by hand: `python -m bench.fair_share [--jobs 200] [--submitters 20] [--busy 0 40 200] [--claims 300]`.
Prints one row per number of busy workers; asserts nothing.

A SQLite store holds `--jobs` queued jobs of 20 tasks at one priority, their submitters spread over
`--submitters` names (`user.name` metadata, as Flamenco's add-on sends), and `--busy` of their tasks
running on other workers. One idle worker then asks for its next task (`find_runnable_task` under
fair share, nothing handed out) `--claims` times. "before" is the claim as it was: one statement
listing every active or queued job with its metadata and a count of its running tasks, the metadata
parsed in Python on every claim; "after" reads each job's submitter from its column and counts
running tasks on the partial index of running tasks. The two alternate in rounds on the same store,
so a busy machine's noise falls on both; figures are CPU time (`time.process_time`) per claim.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.manager.persistence import fair_share_queries, jobs, scheduler_queries, workers  # noqa: E402
from app.manager.persistence.db import Store  # noqa: E402
from app.manager.persistence.jobs import NewJob, NewTask  # noqa: E402
from app.manager.persistence.models import current_db  # noqa: E402
from app.manager.scheduling.fair_share import ShareSettings, submitter_of  # noqa: E402

NOW = dt.datetime(2026, 1, 1)
TASKS_PER_JOB = 20
ROUNDS = 6
SETTINGS = ShareSettings()

# The statement each fair-share claim ran before submitters had a column of their own.
_BEFORE_SQL = """
SELECT j.id, j.priority, j.metadata,
       (SELECT count(*) FROM tasks t WHERE t.job_id = j.id AND t.status = 'active')
FROM jobs j WHERE j.status IN ('active', 'queued') AND j.delete_requested_at IS NULL
ORDER BY j.id
"""


def _before_shares(settings: ShareSettings, level: int | None = None,
                   best_job: int | None = None) -> fair_share_queries.Shares:
    running: dict[str, int] = defaultdict(int)
    oldest: dict[str, int] = {}
    first = ""
    for job_id, priority, metadata, active in current_db().execute_sql(_BEFORE_SQL).fetchall():
        try:
            parsed = json.loads(metadata or "{}")
        except ValueError:
            parsed = {}
        submitter = submitter_of(parsed, settings.share_by)
        running[submitter] += active
        if priority == level:
            oldest.setdefault(submitter, job_id)
        if job_id == best_job:
            first = submitter
    return fair_share_queries.Shares(dict(running), oldest, first)


_AFTER = fair_share_queries.current_shares


def _job(submitter: str) -> NewJob:
    tasks = [NewTask(str(uuid.uuid4()), f"t{i}", "misc", i + 1, 50, [{"name": "echo", "parameters": {}}], 1)
             for i in range(TASKS_PER_JOB)]
    metadata = {"user.name": submitter, "project": "film", "blender.version": "3.4.1"}
    return NewJob(str(uuid.uuid4()), f"{submitter}'s shot", "echo-sleep-test", 50, "queued", {}, metadata,
                  "linux", "", "", None, NOW, tasks)


def _fill(store: Store, job_count: int, submitters: int, busy: int) -> int:
    def fill() -> int:
        for i in range(job_count):
            jobs.store_new_job(_job(f"artist{i % submitters}"))
        db = current_db()
        # Busy workers: the first task of as many jobs as there are busy workers, round the queue.
        db.execute_sql(f"UPDATE tasks SET status = 'active' WHERE id IN "
                       f"(SELECT min(id) FROM tasks GROUP BY job_id, index_in_job % {TASKS_PER_JOB} "
                       f"ORDER BY index_in_job % {TASKS_PER_JOB}, job_id LIMIT {busy})")
        worker = workers.create_worker(uuid=str(uuid.uuid4()), secret_hash="x", name="idle",
                                       supported_task_types="misc", status="awake", created_at=NOW,
                                       updated_at=NOW)
        return worker.id
    return store.call_sync(fill)


def _claims(store: Store, worker_id: int, count: int) -> list[float]:
    def run() -> list[float]:
        times = []
        for _ in range(count):
            start = time.process_time()
            found = scheduler_queries.find_runnable_task(worker_id, ["misc"], SETTINGS)
            times.append(time.process_time() - start)
            assert found is not None
        return times
    return store.call_sync(run)


def _measure(job_count: int, submitters: int, busy: int, claims: int) -> dict[str, list[float]]:
    got: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="tablao-bench-") as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.sqlite'}")
        store.open_sync()
        try:
            worker_id = _fill(store, job_count, submitters, busy)
            for _ in range(ROUNDS):  # alternated, so the machine's noise falls on both
                for name, shares in (("before", _before_shares), ("after", _AFTER)):
                    fair_share_queries.current_shares = shares  # type: ignore[assignment]
                    got[name] += _claims(store, worker_id, claims // ROUNDS)
        finally:
            fair_share_queries.current_shares = _AFTER  # type: ignore[assignment]
            store.close_sync()
    return got


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--submitters", type=int, default=20)
    parser.add_argument("--busy", type=int, nargs="*", default=[0, 40, 200])
    parser.add_argument("--claims", type=int, default=300)
    args = parser.parse_args()
    print(f"{args.jobs} queued jobs of {TASKS_PER_JOB} tasks from {args.submitters} submitters; "
          "CPU ms per fair-share claim (median / p95)")
    print(f"{'busy workers':>12}  {'before':>17}  {'after':>17}")
    for busy in args.busy:
        got = _measure(args.jobs, args.submitters, busy, args.claims)
        cells = []
        for name in ("before", "after"):
            times = sorted(got[name])
            cells.append(f"{statistics.median(times) * 1000:>7.3f} / {times[int(len(times) * 0.95)] * 1000:<7.3f}")
        print(f"{busy:>12}  {cells[0]:>17}  {cells[1]:>17}")


if __name__ == "__main__":
    main()
