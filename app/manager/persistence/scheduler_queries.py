"""The scheduler's query: the best runnable task for one worker, in one indexed statement.

Order: job priority, task priority, job creation (job id), task order in the job. The partial
index `tasks_runnable` (see migration 0001) serves the ORDER BY, so the scan stops at the first
row that passes the per-row checks, whatever the queue length.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import peewee as pw

from app.api.enums import JobStatus, TaskStatus
from app.manager.persistence.models import Job, Task, database_proxy
from app.manager.persistence.prepared import Prepared

_SQL = """
SELECT t.id FROM tasks t {hint}
JOIN jobs j ON j.id = t.job_id
WHERE t.status IN ('queued', 'soft-failed')
  AND j.status IN ('active', 'queued')
  AND j.delete_requested_at IS NULL
  AND t.type IN ({types})
  AND (j.worker_tag_id IS NULL{tag_clause})
  AND NOT EXISTS (SELECT 1 FROM task_failures f WHERE f.task_id = t.id AND f.worker_id = {p})
  AND NOT EXISTS (SELECT 1 FROM job_blocks b
                  WHERE b.job_id = t.job_id AND b.worker_id = {p} AND b.task_type = t.type)
  AND NOT EXISTS (SELECT 1 FROM task_dependencies d JOIN tasks dt ON dt.id = d.dependency_id
                  WHERE d.task_id = t.id AND dt.status != 'completed')
ORDER BY t.job_priority DESC, t.priority DESC, t.job_id, t.index_in_job
LIMIT 1
"""


def find_runnable_task(worker_id: int, task_types: Sequence[str], tag_ids: Sequence[int]) -> int | None:
    """Return the id of the task this worker should run next, or None."""
    if not task_types:
        return None
    db = database_proxy.obj
    p = db.param
    tag_clause = f" OR j.worker_tag_id IN ({', '.join([p] * len(tag_ids))})" if tag_ids else ""
    # On SQLite, pin the plan: with few rows or stale statistics the planner may start from `jobs`
    # and sort every runnable task on each call, which is what made Flamenco's query slow.
    hint = "INDEXED BY tasks_runnable" if isinstance(db, pw.SqliteDatabase) else ""
    sql = _SQL.format(types=", ".join([p] * len(task_types)), tag_clause=tag_clause, p=p, hint=hint)
    params = [*task_types, *tag_ids, worker_id, worker_id]
    row = db.execute_sql(sql, params).fetchone()
    return row[0] if row else None


_ACTIVE_TASK = Prepared(lambda w: (
    Task.select(Task.id).join(Job)
    .where((Task.worker == w) & (Task.status == TaskStatus.ACTIVE.value)
           & Job.status.in_([JobStatus.ACTIVE.value, JobStatus.QUEUED.value]))
    .order_by(Task.id).limit(1)), int)


def active_task_of_worker(worker_id: int) -> int | None:
    """Step 1 of scheduling: a worker that asks again gets its still-active task back."""
    return _ACTIVE_TASK.scalar(worker_id)


def assign(task_id: int, worker_id: int, now: dt.datetime) -> bool:
    """Give the task to this worker (the status machine then makes it active).

    False if it is no longer runnable. Claims run on the single store thread, so two workers can
    never both get a task; the status guard keeps that true for any future multi-writer store.
    """
    db = database_proxy.obj
    p = db.param
    sql = (f"UPDATE tasks SET worker_id = {p}, last_touched_at = {p}, updated_at = {p} "
           f"WHERE id = {p} AND status IN ('queued', 'soft-failed')")
    stamp = Task.updated_at.db_value(now)
    return db.execute_sql(sql, [worker_id, stamp, stamp, task_id]).rowcount == 1
