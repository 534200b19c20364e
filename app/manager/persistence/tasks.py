"""Queries on tasks: fetching, status updates (single and per job), failure lists, timeouts.

Run inside a Store's transaction, on that Store's database (`models.current_db()`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import peewee as pw

from app.api.enums import TaskStatus
from app.manager.persistence.errors import NotFound
from app.manager.persistence.models import Job, Task, TaskDependency, TaskFailure, Worker, current_db, tuples
from app.manager.persistence.prepared import Hydrator, Prepared, Sql, update_by_id


def _task_query() -> pw.ModelSelect[Task]:
    return (Task.select(Task, Job, Worker)
            .join(Job, on=(Task.job == Job.id))
            .switch(Task).join(Worker, pw.JOIN.LEFT_OUTER, on=(Task.worker == Worker.id)))


# A task with its job and last worker, as every fetch here reads it (`scheduler_queries` reads the same).
TASK_JOB_WORKER: Hydrator[Task] = Hydrator([Task, Job, Worker], [None, (0, "job"), (0, "worker")])
_TASK_SQL = (f"SELECT {TASK_JOB_WORKER.columns(['t', 'j', 'w'])} FROM tasks t "
             "JOIN jobs j ON j.id = t.job_id LEFT JOIN workers w ON w.id = t.worker_id WHERE ")
_TASK_BY_UUID, _TASK_BY_ID = Sql(_TASK_SQL + "t.uuid = {p}"), Sql(_TASK_SQL + "t.id = {p}")


def _one_task(sql: Sql, value: Any) -> Task | None:
    db = current_db()
    row = db.execute_sql(sql.text(db), [value]).fetchone()
    return TASK_JOB_WORKER.build(row) if row else None


def fetch_task(task_uuid: str) -> Task:
    task = _one_task(_TASK_BY_UUID, task_uuid)
    if task is None:
        raise NotFound(f"task {task_uuid} does not exist")
    return task


# A completion's first read on PostgreSQL, with its writes: when the task is active and this worker's, it
# shifts the task's dependents' counts and answers whether the job has other tasks not completed (what
# `completed` asks after the task's UPDATE), in the same statement. Per length of the unfinished list.
_FETCH_COMPLETING_CACHE: dict[int, str] = {}
_COMPLETING_PREFIX = "WITH own AS (SELECT id FROM tasks WHERE uuid = %s AND worker_id = %s AND status = %s), "


def fetch_task_completing(task_uuid: str, worker_id: int, active: str,
                          unfinished: Sequence[str]) -> tuple[Task, tuple[bool, bool] | None]:
    """`fetch_task` for a worker that reports the task completed, and on PostgreSQL, when the task is
    `active` and that worker's, `completed`'s answer (whether it has dependents, whether its job has
    other tasks in `unfinished`) with the dependents' shift already done, in one statement: a round
    trip less per completion. None on SQLite, or when the task is not the worker's active task (then
    nothing was written; the caller's checks refuse the update). A caller that then does not complete
    the task must fail its transaction (or savepoint): the shift is done."""
    db = current_db()
    if isinstance(db, pw.SqliteDatabase):
        return fetch_task(task_uuid), None
    sql = _FETCH_COMPLETING_CACHE.get(len(unfinished))
    if sql is None:
        marks = ", ".join(["%s"] * len(unfinished))
        shift = _SHIFT_DEPENDENTS.template.format(p="%s").replace("dependency_id = %s",
                                                                   "dependency_id = (SELECT id FROM own)")
        sql = _FETCH_COMPLETING_CACHE[len(unfinished)] = (
            f"{_COMPLETING_PREFIX}shifted AS ({shift} RETURNING 1) "
            f"SELECT {TASK_JOB_WORKER.columns(['t', 'j', 'w'])}, (SELECT id FROM own), "
            "EXISTS (SELECT 1 FROM shifted), "
            f"EXISTS (SELECT 1 FROM tasks x WHERE x.job_id = t.job_id AND x.id <> t.id AND x.status IN ({marks})) "
            "FROM tasks t JOIN jobs j ON j.id = t.job_id LEFT JOIN workers w ON w.id = t.worker_id "
            "WHERE t.uuid = %s")
    row = db.execute_sql(sql, [task_uuid, worker_id, active, -1, *unfinished, task_uuid]).fetchone()
    if row is None:
        raise NotFound(f"task {task_uuid} does not exist")
    task = TASK_JOB_WORKER.build(row[:-3])
    own, has_dependents, left = row[-3:]
    return task, (None if own is None else (bool(has_dependents), bool(left)))


def fetch_task_by_id(task_id: int) -> Task:
    task = _one_task(_TASK_BY_ID, task_id)
    if task is None:
        raise NotFound(f"task #{task_id} does not exist")
    return task


def job_tasks(job_id: int) -> list[Task]:
    """All tasks of a job in job order, with their last worker (summary columns only)."""
    query = (Task.select(Task.id, Task.uuid, Task.name, Task.status, Task.index_in_job, Task.priority,
                         Task.type, Task.updated_at, Task.steps_completed, Task.steps_total,
                         Task.activity, Worker.id, Worker.uuid, Worker.name, Worker.address)
             .join(Worker, pw.JOIN.LEFT_OUTER, on=(Task.worker == Worker.id))
             .where(Task.job == job_id).order_by(Task.index_in_job))
    return list(query)


def failed_by_workers(task_id: int) -> list[Worker]:
    return list(Worker.select(Worker.uuid, Worker.name, Worker.address)
                .join(TaskFailure, on=(TaskFailure.worker == Worker.id))
                .where(TaskFailure.task == task_id))


def update_task(task_id: int, **fields: Any) -> None:
    update_by_id(Task, task_id, fields)


def set_tasks_status(
    job_id: int, from_statuses: Sequence[str] | None, to_status: str, now: dt.datetime,
    activity: str | None = None, reset_steps: bool = False,
) -> list[tuple[int, str, str]]:
    """Move a job's tasks in `from_statuses` (all when None) to `to_status`.

    Returns (id, uuid, previous status) of every task that changed.
    """
    query = Task.select(Task.id, Task.uuid, Task.status).where(Task.job == job_id)
    if from_statuses is not None:
        query = query.where(Task.status.in_(list(from_statuses)))
    changed = [(t.id, t.uuid, t.status) for t in query if t.status != to_status]
    if not changed:
        return []
    fields: dict[str, Any] = {"status": to_status, "updated_at": now}
    if activity is not None:
        fields["activity"] = activity
    if reset_steps:
        fields["steps_completed"] = 0
    ids = [c[0] for c in changed]
    for start in range(0, len(ids), 900):
        Task.update(**fields).where(Task.id.in_(ids[start:start + 900])).execute()
    if to_status == TaskStatus.COMPLETED.value or any(c[2] == TaskStatus.COMPLETED.value for c in changed):
        recount_deps_left(job_id)
    return changed


_SHIFT_DEPENDENTS = Sql("UPDATE tasks SET deps_left = deps_left + {p} WHERE id IN "
                        "(SELECT task_id FROM task_dependencies WHERE dependency_id = {p})")
# A job that waits for other jobs adds their count (`jobs.waiting_on`) to each of its tasks.
_RECOUNT_JOB = ("UPDATE tasks SET deps_left = (SELECT count(*) FROM task_dependencies d "
                "JOIN tasks dt ON dt.id = d.dependency_id WHERE d.task_id = tasks.id AND dt.status != {p}) "
                "+ (SELECT j.waiting_on FROM jobs j WHERE j.id = tasks.job_id) "
                "WHERE job_id = {p} AND id IN (SELECT task_id FROM task_dependencies)")


def completion_changed(task_id: int, completed: bool) -> bool:
    """A task became completed (or stopped being so): its dependents have one dependency less (more) left.

    Returns whether it has dependents.
    """
    db = current_db()
    cursor = db.execute_sql(_SHIFT_DEPENDENTS.text(db), [-1 if completed else 1, task_id])
    return bool(cursor.rowcount)


_COMPLETED_CACHE: dict[int, str] = {}


def completed(task_id: int, job_id: int, unfinished: Sequence[str]) -> tuple[bool, bool | None]:
    """A task became completed: `completion_changed`, and on PostgreSQL in the same statement whether its
    job still has tasks in `unfinished` (None on SQLite, where the caller asks `jobs.has_tasks_in`).

    Returns (whether it has dependents, whether the job has tasks left or None). On PostgreSQL each
    statement is a round trip, and a completion asks both: the shift runs in a WITH that the answer's
    query does not read back, and it moves only dependents' counts, never a status."""
    db = current_db()
    if isinstance(db, pw.SqliteDatabase):
        return completion_changed(task_id, True), None
    sql = _COMPLETED_CACHE.get(len(unfinished))
    if sql is None:
        marks = ", ".join(["%s"] * len(unfinished))
        shift = _SHIFT_DEPENDENTS.template.format(p="%s")
        sql = _COMPLETED_CACHE[len(unfinished)] = (
            f"WITH shifted AS ({shift} RETURNING 1) SELECT EXISTS (SELECT 1 FROM shifted), "
            f"EXISTS (SELECT 1 FROM tasks WHERE job_id = %s AND status IN ({marks}))")
    has_dependents, left = db.execute_sql(sql, [-1, task_id, job_id, *unfinished]).fetchone()
    return bool(has_dependents), bool(left)


def recount_deps_left(job_id: int) -> None:
    """Count every task's unfinished dependencies of a job afresh (after a bulk status change)."""
    db = current_db()
    db.execute_sql(_RECOUNT_JOB.format(p=db.param), [TaskStatus.COMPLETED.value, job_id])


def dependents_of(task_ids: Sequence[int]) -> list[int]:
    """Tasks that (transitively) depend on any of `task_ids`."""
    found: set[int] = set()
    frontier = list(task_ids)
    while frontier:
        batch, frontier = frontier[:900], frontier[900:]
        rows = TaskDependency.select(TaskDependency.task).where(TaskDependency.dependency.in_(batch))
        for (tid,) in tuples(rows):
            if tid not in found:
                found.add(tid)
                frontier.append(tid)
    return sorted(found)


def _active_of_worker_query(worker_id):
    return _task_query().where((Task.worker == worker_id) & (Task.status == TaskStatus.ACTIVE.value))


_ACTIVE_OF_WORKER = Prepared(_active_of_worker_query, int)


def add_failure(task_id: int, worker_id: int, now: dt.datetime) -> int:
    """Record that `worker_id` failed `task_id`; return how many distinct workers failed it."""
    TaskFailure.insert(task=task_id, worker=worker_id, created_at=now).on_conflict_ignore().execute()
    return TaskFailure.select().where(TaskFailure.task == task_id).count()


def clear_failures(task_ids: Sequence[int]) -> None:
    for start in range(0, len(task_ids), 900):
        TaskFailure.delete().where(TaskFailure.task.in_(list(task_ids[start:start + 900]))).execute()


def clear_job_failures(job_id: int) -> None:
    TaskFailure.delete().where(
        TaskFailure.task.in_(Task.select(Task.id).where(Task.job == job_id))).execute()


def failed_tasks_of_worker_in_job(job_id: int, worker_id: int, task_type: str) -> list[Task]:
    return list(Task.select().join(TaskFailure, on=(TaskFailure.task == Task.id)).where(
        (Task.job == job_id) & (TaskFailure.worker == worker_id) & (Task.type == task_type)))


def count_worker_failures_in_job(job_id: int, worker_id: int, task_type: str) -> int:
    return (TaskFailure.select().join(Task, on=(TaskFailure.task == Task.id))
            .where((Task.job == job_id) & (TaskFailure.worker == worker_id) & (Task.type == task_type))
            .count())


def count_with_status(status: str) -> int:
    return Task.select().where(Task.status == status).count()


def active_tasks_of_worker(worker_id: int) -> list[Task]:
    return _ACTIVE_OF_WORKER.rows(worker_id)


def timed_out_tasks(before: dt.datetime) -> list[Task]:
    return list(_task_query().where(
        (Task.status == TaskStatus.ACTIVE) & (Task.last_touched_at < before)))


def touch(task_id: int, now: dt.datetime) -> None:
    update_by_id(Task, task_id, {"last_touched_at": now})
