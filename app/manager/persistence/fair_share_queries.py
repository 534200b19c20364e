"""The claim's lookups under fair share: who runs how much, and the best task of one chosen job.

A claim under fair share runs the strict query first (`scheduler_queries`): it gives the best task
this worker can run, and so the top rank (job priority, task priority) it may take work from. Then
one statement lists the active and queued jobs with their running tasks (a seek per job on
`tasks_job_status`, so the cost follows the jobs, not the workers), from which the submitters with
jobs of that priority and their running tasks follow. The submitter furthest below its share is
tried first: its jobs, oldest first, each with the warm-job lookup of `scheduler_queries` (the strict
query pinned to one job and that rank), which the partial index `tasks_runnable` serves by equality
on its leading columns: no index of its own, so strict priority pays nothing for the option. At most
`MAX_PINNED` pinned lookups: past them (the other submitters' work is for other task types or tags,
or of a lower task priority) the strict answer stands. So a claim costs a fixed handful of
statements, however many workers wait.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from app.manager.persistence import scheduler_queries
from app.manager.persistence.models import current_db
from app.manager.scheduling.fair_share import ShareSettings, share_order, submitter_of

MAX_PINNED = 8  # pinned lookups per claim at most; then the strict order's task

_JOBS_SQL = """
SELECT j.id, j.priority, j.metadata,
       (SELECT count(*) FROM tasks t WHERE t.job_id = j.id AND t.status = 'active')
FROM jobs j WHERE j.status IN ('active', 'queued') AND j.delete_requested_at IS NULL
ORDER BY j.id
"""


@dataclass(frozen=True)
class Shares:
    """Running tasks per submitter (active and queued jobs), and each job's submitter and priority."""

    running: dict[str, int]
    jobs: list[tuple[int, int, str]]  # (job id, priority, submitter), oldest first


def current_shares(settings: ShareSettings) -> Shares:
    db = current_db()
    scheduler_queries.QUERIES["share"] += 1
    running: dict[str, int] = defaultdict(int)
    jobs = []
    for job_id, priority, metadata, active in db.execute_sql(_JOBS_SQL).fetchall():
        submitter = submitter_of(_metadata(metadata), settings.share_by)
        running[submitter] += active
        jobs.append((job_id, priority, submitter))
    return Shares(dict(running), jobs)


def fair_task(settings: ShareSettings, worker_id: int, task_types: Sequence[str], params: list,
              best: tuple[int, int, int, int]) -> int | None:
    """The task of the submitter furthest below its share; None when the job's rank has one submitter
    only (the caller keeps its strict answer, warm-job preference included)."""
    _, best_job, level, priority = best
    shares = current_shares(settings)
    at_level: dict[str, list[int]] = defaultdict(list)
    first = ""
    for job_id, job_priority, submitter in shares.jobs:
        if job_priority == level:
            at_level[submitter].append(job_id)
        if job_id == best_job:
            first = submitter
    if len(at_level) <= 1:
        return None
    order = share_order({s: shares.running.get(s, 0) for s in at_level}, settings, first)
    tries = 0
    for submitter in order:
        if submitter == first:
            return _warm_within(at_level[first], worker_id, len(task_types), params, best)
        for job_id in at_level[submitter]:
            if tries == MAX_PINNED:
                return None
            tries += 1
            task_id = _pinned(len(task_types), params, job_id, level, priority)
            if task_id is not None:
                return task_id
    return None


def _warm_within(jobs: list[int], worker_id: int, type_count: int, params: list,
                 best: tuple[int, int, int, int]) -> int:
    """The strict answer, or a task of the same rank in the job this worker ran last when that job is
    the same submitter's: warmth may break a tie, but not move work to another submitter."""
    task_id, best_job, level, priority = best
    db = current_db()
    last = db.execute_sql(scheduler_queries._LAST_JOB_SQL.format(p=db.param), [worker_id]).fetchone()
    if last is None or last[0] == best_job or last[0] not in jobs:
        return task_id
    return _pinned(type_count, params, last[0], level, priority) or task_id


def _pinned(type_count: int, params: list, job_id: int, level: int, priority: int) -> int | None:
    # The warm-job lookup's statement: pinned to a job and a rank, a seek on `tasks_runnable`.
    db = current_db()
    scheduler_queries.QUERIES["share"] += 1
    sql = scheduler_queries._sql(db, type_count, True)
    row = db.execute_sql(sql, [*params, job_id, level, priority]).fetchone()
    return row[0] if row else None


def _metadata(text: str | None) -> dict:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
