"""The job blocklist: which workers may no longer run which task type of a job.

Run inside a Store's transaction, on that Store's database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from app.manager.persistence.models import Job, JobBlock, TaskFailure, Worker, WorkerTagMembership, tuples


def add(job_id: int, worker_id: int, task_type: str, now: dt.datetime) -> None:
    JobBlock.insert(job=job_id, worker=worker_id, task_type=task_type,
                    created_at=now).on_conflict_ignore().execute()


def list_for_job(job_id: int) -> list[tuple[str, str, str]]:
    """(worker uuid, worker name, task type) of every block on the job."""
    rows = (JobBlock.select(Worker.uuid, Worker.name, JobBlock.task_type)
            .join(Worker).where(JobBlock.job == job_id).order_by(Worker.name, JobBlock.task_type))
    return list(tuples(rows))


def remove(job_id: int, entries: Sequence[tuple[str, str]]) -> int:
    """Remove (worker uuid, task type) entries; returns how many were removed."""
    removed = 0
    for worker_uuid, task_type in entries:
        worker = Worker.get_or_none(Worker.uuid == worker_uuid)
        if worker is None:
            continue
        removed += JobBlock.delete().where(
            (JobBlock.job == job_id) & (JobBlock.worker == worker.id)
            & (JobBlock.task_type == task_type)).execute()
    return removed


def clear(job_id: int) -> None:
    JobBlock.delete().where(JobBlock.job == job_id).execute()


def workers_left_to_run(job: Job, task_type: str, task_id: int | None = None) -> int:
    """How many workers could still run `task_type` tasks of `job` (and this task, if given).

    Counted: workers that are not deleted, support the task type, are in the job's tag (when it
    has one), are not blocklisted for this job and type, and have not already failed the task.
    Offline and asleep workers count: they may come back.
    """
    query = Worker.select(Worker.id, Worker.supported_task_types).where(Worker.deleted_at.is_null())
    if job.worker_tag_id is not None:
        query = query.where(Worker.id.in_(WorkerTagMembership.select(WorkerTagMembership.worker)
                                          .where(WorkerTagMembership.tag == job.worker_tag_id)))
    blocked = JobBlock.select(JobBlock.worker).where(
        (JobBlock.job == job.id) & (JobBlock.task_type == task_type))
    query = query.where(Worker.id.not_in(blocked))
    if task_id is not None:
        query = query.where(Worker.id.not_in(
            TaskFailure.select(TaskFailure.worker).where(TaskFailure.task == task_id)))
    return sum(1 for _, types in tuples(query) if task_type in types.split(","))
