"""Queries behind the farm's ETA: finished runs (a job's own, a .blend file's, a job type's, the farm's
recent ones), what is left of a job, and the workers that could take its tasks.

Rows come back as plain named tuples (`app.manager.jobs.job_eta` does the arithmetic): the ETA is
asked for every few seconds by every open dashboard, so nothing here builds a model object per row.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import NamedTuple

import peewee as pw

from app.manager.persistence.models import Job, Task, TaskRun, Worker, WorkerTagMembership, current_db, tuples
from app.manager.persistence.prepared import converter


class Run(NamedTuple):
    """A completed run: who ran it, how long it took, how many steps it had, and its kind of work."""

    worker_id: int
    seconds: float
    steps: int
    job_type: str
    task_type: str
    blend_key: str
    finished_at: dt.datetime
    job_uuid: str


class TaskLeft(NamedTuple):
    """An unfinished task of a job, or `alike` waiting ones of the same status, type and steps."""

    status: str
    steps_total: int
    steps_completed: int
    worker_id: int | None
    started_at: dt.datetime | None
    type: str
    alike: int = 1


class FarmWorker(NamedTuple):
    id: int
    uuid: str
    name: str
    status: str
    task_types: str
    last_seen_at: dt.datetime | None


_RUN_FIELDS = (TaskRun.worker, TaskRun.seconds, TaskRun.steps, TaskRun.job_type, TaskRun.task_type,
               TaskRun.blend_key, TaskRun.finished_at, TaskRun.job_uuid)
#: Runs stored before the ETA kept steps (0) say nothing about a step's time.
_USABLE = (TaskRun.outcome == "completed") & (TaskRun.steps > 0)


def job_runs(job_uuid: str) -> list[Run]:
    """The job's own completed runs (all of them: a job's tasks are at most a few thousand)."""
    query = TaskRun.select(*_RUN_FIELDS).where(_USABLE & (TaskRun.job_uuid == job_uuid))
    return [Run(*row) for row in tuples(query)]


def history_runs(*, blend_key: str = "", job_type: str = "", other_than: str, limit: int) -> list[Run]:
    """The newest completed runs of other jobs than `other_than` ('' for all) of the same .blend file
    (or, without one, job type)."""
    where = _USABLE & (TaskRun.job_uuid != other_than)
    where &= (TaskRun.blend_key == blend_key) if blend_key else (TaskRun.job_type == job_type)
    query = TaskRun.select(*_RUN_FIELDS).where(where).order_by(TaskRun.finished_at.desc()).limit(limit)
    return [Run(*row) for row in tuples(query)]


def recent_runs(since: dt.datetime, limit: int) -> list[Run]:
    """The farm's newest completed runs since `since`, for the workers' speeds."""
    query = (TaskRun.select(*_RUN_FIELDS).where(_USABLE & (TaskRun.finished_at >= since))
             .order_by(TaskRun.finished_at.desc()).limit(limit))
    return [Run(*row) for row in tuples(query)]


class JobHead(NamedTuple):
    id: int
    uuid: str
    status: str
    job_type: str
    settings: object
    shaman_checkout_id: str
    worker_tag_id: int | None
    priority: int = 50


_HEAD = (Job.id, Job.uuid, Job.status, Job.job_type, Job.settings, Job.storage_shaman_checkout_id, Job.worker_tag,
         Job.priority)


def unfinished_jobs(statuses: Sequence[str], limit: int) -> list[JobHead]:
    """The newest jobs in `statuses`."""
    query = Job.select(*_HEAD).where(Job.status.in_(list(statuses))).order_by(Job.created_at.desc()).limit(limit)
    return [JobHead(*row) for row in tuples(query)]


def one_job(job_uuid: str) -> JobHead | None:
    rows = [JobHead(*row) for row in tuples(Job.select(*_HEAD).where(Job.uuid == job_uuid))]
    return rows[0] if rows else None


def tasks_left(job_ids: Sequence[int], waiting: Sequence[str]) -> dict[int, list[TaskLeft]]:
    """Per job: its active tasks one by one, then its tasks in `waiting` statuses grouped by what tells
    their time (status, type, steps), in the job's order (a farm's thousands of queued tasks come back as
    a few rows per job)."""
    out: dict[int, list[TaskLeft]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return out
    in_jobs = Task.job.in_(list(job_ids))
    active = (Task.select(Task.job, Task.status, Task.steps_total, Task.steps_completed, Task.worker,
                          Task.started_at, Task.type)
              .where(in_jobs & (Task.status == "active")))
    for job_id, *rest in tuples(active):
        out[job_id].append(TaskLeft(*rest))
    first = pw.fn.MIN(Task.index_in_job)
    grouped = (Task.select(Task.job, Task.status, Task.steps_total, Task.steps_completed, Task.type,
                           pw.fn.COUNT(Task.id), first)
               .where(in_jobs & Task.status.in_(list(waiting)))
               .group_by(Task.job, Task.status, Task.steps_total, Task.steps_completed, Task.type)
               .order_by(Task.job, first))
    for job_id, status, total, done, task_type, count, _ in tuples(grouped):
        out[job_id].append(TaskLeft(status, total, done, None, None, task_type, count))
    return out


def busy_workers() -> dict[int, int]:
    """worker id → the job id of the task it runs now."""
    query = Task.select(Task.worker, Task.job).where((Task.status == "active") & Task.worker.is_null(False))
    return {worker_id: job_id for worker_id, job_id in tuples(query)}


_SEEN_AT = converter(Worker.last_seen_at)


def live_workers(statuses: Sequence[str]) -> list[FarmWorker]:
    """Workers in `statuses` that are not deleted."""
    # Plain rows: every estimate reads the whole farm, and Peewee's row wrapper cost more than the read.
    if not statuses:
        return []
    db = current_db()
    sql = ("SELECT id, uuid, name, status, supported_task_types, last_seen_at FROM workers "
           f"WHERE status IN ({', '.join([db.param] * len(statuses))}) AND deleted_at IS NULL")
    seen = _SEEN_AT
    return [FarmWorker(wid, uuid, name, status, types, None if at is None else seen(at))
            for wid, uuid, name, status, types, at in db.execute_sql(sql, list(statuses)).fetchall()]


def worker_tags() -> dict[int, set[int]]:
    """worker id → the ids of its tags."""
    out: dict[int, set[int]] = {}
    for worker_id, tag_id in tuples(WorkerTagMembership.select(WorkerTagMembership.worker,
                                                               WorkerTagMembership.tag)):
        out.setdefault(worker_id, set()).add(tag_id)
    return out
