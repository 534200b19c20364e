"""The claim's lookups under fair share: who runs how much, and the best task of one chosen job.

A claim under fair share runs the strict query first (`scheduler_queries`): it gives the best task
this worker can run, and so the top rank (job priority, task priority) it may take work from. Then
three statements: a seek for jobs whose submitter was read under another metadata key (none, unless
`fair_share_by` changed; `job_submitters` reads those again once); the running tasks per submitter,
counted on the partial index of running tasks (its rows are the busy workers', whatever the queue);
and the unfinished jobs of that priority with their submitter, from a partial index of their own.
No job's metadata is parsed: each job's submitter is a column, written when the job is stored.
The submitter furthest below its share is tried first: its jobs, oldest first, each with the
warm-job lookup of `scheduler_queries` (the strict query pinned to one job and that rank), which the
partial index `tasks_runnable` serves by equality on its leading columns: no index of its own, so
strict priority pays nothing for the option. At most `MAX_PINNED` pinned lookups: past them (the
other submitters' work is for other task types or tags, or of a lower task priority) the strict
answer stands. So a claim costs a fixed handful of statements, however many workers wait.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import peewee as pw

from app.manager.persistence import job_submitters, scheduler_queries
from app.manager.persistence.models import current_db
from app.manager.scheduling.fair_share import ShareSettings, share_order

MAX_PINNED = 8  # pinned lookups per claim at most; then the strict order's task

_RUNNING = 0  # row kinds of `_SHARES_SQL`: (kind, submitter, running tasks)
_OLDEST = 1  # (kind, submitter, oldest job id) per submitter with unfinished jobs of the claim's priority
_BEST = 2  # (kind, submitter, job id) of the strict answer's job
_STALE = 3  # (kind, metadata, job id) of an unfinished job whose submitter was read under another key
_UNFINISHED = job_submitters.UNFINISHED
# One statement: the running tasks per submitter, from the partial index of running tasks (as many rows
# as busy workers); the submitters of one priority with their oldest job, from the unfinished jobs'
# index on (priority, submitter, id); the strict answer's job; and two range seeks for jobs read under
# another key (none, unless the key changed).
# SQLite is told the indexes and, by CROSS JOIN, to start from the running tasks (its planner would walk
# every unfinished job by status instead); the same statement without the hints lets PostgreSQL choose.
_SHARES_SQL = f"""
SELECT 0, j.submitter, count(*) FROM tasks t {{running}} CROSS JOIN jobs j
WHERE j.id = t.job_id AND t.status = 'active' AND {_UNFINISHED} GROUP BY j.submitter
UNION ALL
SELECT 1, j.submitter, min(j.id) FROM jobs j {{by_priority}}
WHERE j.priority = {{p}} AND {_UNFINISHED} GROUP BY j.submitter
UNION ALL
SELECT 2, j.submitter, j.id FROM jobs j WHERE j.id = {{p}}
UNION ALL
SELECT 3, j.metadata, j.id FROM jobs j {{by_key}} WHERE j.share_by < {{p}} AND {_UNFINISHED}
UNION ALL
SELECT 3, j.metadata, j.id FROM jobs j {{by_key}} WHERE j.share_by > {{p}} AND {_UNFINISHED}
"""
_HINTS = {"running": "INDEXED BY tasks_running_by_job", "by_priority": "INDEXED BY jobs_unfinished_by_priority",
          "by_key": "INDEXED BY jobs_unfinished_by_share_key"}
_SQL_CACHE: dict[str, str] = {}
_SUBMITTERS_SQL = f"SELECT DISTINCT j.submitter FROM jobs j WHERE {_UNFINISHED}"
# A submitter's next jobs of one priority, oldest first, after the one tried.
_NEXT_JOBS_SQL = f"""
SELECT j.id FROM jobs j WHERE j.priority = {{p}} AND j.submitter = {{p}} AND j.id > {{p}} AND {_UNFINISHED}
ORDER BY j.id LIMIT {MAX_PINNED}
"""
_LAST_JOB_SQL = """
SELECT t.job_id, j.submitter FROM tasks t JOIN jobs j ON j.id = t.job_id
WHERE t.worker_id = {p} AND t.last_touched_at IS NOT NULL ORDER BY t.last_touched_at DESC LIMIT 1
"""


@dataclass(frozen=True)
class Shares:
    """Running tasks per submitter of the active and queued jobs; for a claim, the submitters with jobs
    of its priority (each with its oldest such job) and the submitter of the strict answer's job."""

    running: dict[str, int]
    oldest: dict[str, int]
    first: str = ""


def current_shares(settings: ShareSettings, level: int | None = None, best_job: int | None = None) -> Shares:
    """The shares; `level`, `best_job`: a claim's priority and strict answer. Without them (the shares
    route) every submitter with an active or queued job counts, those running nothing with 0."""
    db = current_db()
    scheduler_queries.QUERIES["share"] += 1
    params = [level, best_job, settings.share_by, settings.share_by]
    sql = _shares_sql(db)
    rows = db.execute_sql(sql, params).fetchall()
    if any(row[0] == _STALE for row in rows):  # only after `fair_share_by` changed: read once more
        job_submitters.refresh(settings.share_by)
        rows = db.execute_sql(sql, params).fetchall()
    running = {submitter: count for kind, submitter, count in rows if kind == _RUNNING}
    oldest = {submitter: job_id for kind, submitter, job_id in rows if kind == _OLDEST}
    first = next((submitter for kind, submitter, _ in rows if kind == _BEST), "")
    if level is None:
        for (submitter,) in db.execute_sql(_SUBMITTERS_SQL).fetchall():
            running.setdefault(submitter, 0)
    return Shares(running, oldest, first)


def _shares_sql(db: pw.Database) -> str:
    key = type(db).__name__
    if key not in _SQL_CACHE:
        sqlite = isinstance(db, pw.SqliteDatabase)
        _SQL_CACHE[key] = _SHARES_SQL.format(p=db.param, **{k: v if sqlite else "" for k, v in _HINTS.items()})
    return _SQL_CACHE[key]


def fair_task(settings: ShareSettings, worker_id: int, task_types: Sequence[str], params: list,
              best: tuple[int, int, int, int]) -> int | None:
    """The task of the submitter furthest below its share; None when the job's rank has one submitter
    only (the caller keeps its strict answer, warm-job preference included)."""
    _, best_job, level, priority = best
    shares = current_shares(settings, level, best_job)
    if len(shares.oldest) <= 1:
        return None
    first = shares.first
    order = share_order({s: shares.running.get(s, 0) for s in shares.oldest}, settings, first)
    tries = 0
    for submitter in order:
        if submitter == first:
            return _warm_within(first, worker_id, len(task_types), params, best)
        for job_id in _jobs_of(submitter, shares.oldest[submitter], level):
            if tries == MAX_PINNED:
                return None
            tries += 1
            task_id = _pinned(len(task_types), params, job_id, level, priority)
            if task_id is not None:
                return task_id
    return None


def _jobs_of(submitter: str, oldest: int, level: int) -> Iterator[int]:
    """A submitter's jobs of one priority, oldest first; the later ones read only if they are needed."""
    yield oldest
    db = current_db()
    scheduler_queries.QUERIES["share"] += 1
    for (job_id,) in db.execute_sql(_NEXT_JOBS_SQL.format(p=db.param), [level, submitter, oldest]).fetchall():
        yield job_id


def _warm_within(first: str, worker_id: int, type_count: int, params: list,
                 best: tuple[int, int, int, int]) -> int:
    """The strict answer, or a task of the same rank in the job this worker ran last when that job is
    the same submitter's: warmth may break a tie, but not move work to another submitter."""
    task_id, best_job, level, priority = best
    db = current_db()
    last = db.execute_sql(_LAST_JOB_SQL.format(p=db.param), [worker_id]).fetchone()
    if last is None or last[0] == best_job or last[1] != first:
        return task_id
    return _pinned(type_count, params, last[0], level, priority) or task_id


def _pinned(type_count: int, params: list, job_id: int, level: int, priority: int) -> int | None:
    # The warm-job lookup's statement: pinned to a job and a rank, a seek on `tasks_runnable`.
    db = current_db()
    scheduler_queries.QUERIES["share"] += 1
    sql = scheduler_queries._sql(db, type_count, True)
    row = db.execute_sql(sql, [*params, job_id, level, priority]).fetchone()
    return row[0] if row else None
