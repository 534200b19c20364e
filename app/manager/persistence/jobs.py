"""Queries on jobs: storing authored jobs, fetching, listing, priority, tags and deletion.

These functions run inside a Store's transaction (`Store.call`, or `try_quick` on the loop), on
that Store's database; called outside one they raise `models.OutsideStore`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import peewee as pw

from app.api.enums import JobStatus, TaskStatus
from app.manager.persistence import job_submitters
from app.manager.persistence.errors import NotFound
from app.manager.persistence.models import Job, Task, WorkerTag, current_db, tuples
from app.manager.persistence.prepared import Prepared, update_by_id


@dataclass
class NewTask:
    uuid: str
    name: str
    type: str
    index_in_job: int
    priority: int
    commands: list[dict[str, Any]]
    steps_total: int
    dependencies: list[str] = field(default_factory=list)
    hand_out_rank: int | None = None  # the scheduler's order in the job; None: index_in_job


@dataclass
class NewJob:
    uuid: str
    name: str
    job_type: str
    priority: int
    status: str
    settings: dict[str, Any]
    metadata: dict[str, Any]
    submitter_platform: str
    type_etag: str
    storage_shaman_checkout_id: str
    worker_tag_uuid: str | None
    created_at: dt.datetime
    tasks: list[NewTask]
    credentialed: bool = False


def store_new_job(new: NewJob) -> Job:
    """Insert the job, its tasks and dependencies in one transaction (bulk inserts)."""
    tag_id = None
    if new.worker_tag_uuid:
        tag = WorkerTag.get_or_none(WorkerTag.uuid == new.worker_tag_uuid)
        if tag is None:
            raise NotFound(f"worker tag {new.worker_tag_uuid} does not exist")
        tag_id = tag.id
    steps_total = sum(t.steps_total for t in new.tasks)
    job = Job.create(
        uuid=new.uuid, name=new.name, job_type=new.job_type, priority=new.priority,
        status=new.status, activity="", settings=new.settings, metadata=new.metadata,
        submitter_platform=new.submitter_platform, type_etag=new.type_etag,
        storage_shaman_checkout_id=new.storage_shaman_checkout_id, worker_tag=tag_id,
        credentialed=new.credentialed, steps_completed=0, steps_total=steps_total, created_at=new.created_at,
        updated_at=new.created_at,
    )
    _insert_tasks(job, new)
    job_submitters.store_submitter(job.id, new.metadata)
    return job


def _insert_tasks(job: Job, new: NewJob) -> None:
    """Bulk insert with `executemany`: building 10,000 INSERT rows through the ORM cost ~1.5 s."""
    db = current_db()
    stamp = Task.created_at.db_value(new.created_at)
    columns = ("uuid", "job_id", "name", "type", "index_in_job", "priority", "job_priority", "status",
               "commands", "activity", "steps_completed", "steps_total", "deps_left", "created_at", "updated_at", "hand_out_rank")
    rows = [
        (t.uuid, job.id, t.name, t.type, t.index_in_job, t.priority, new.priority, TaskStatus.QUEUED.value,
         json.dumps(t.commands, separators=(",", ":")), "", 0, t.steps_total, len(set(t.dependencies)),
         stamp, stamp, t.index_in_job if t.hand_out_rank is None else t.hand_out_rank)
        for t in new.tasks
    ]
    _executemany(db, "tasks", columns, rows)
    if not any(t.dependencies for t in new.tasks):
        return
    ids = dict(tuples(Task.select(Task.uuid, Task.id).where(Task.job == job.id)))
    deps = [(ids[t.uuid], ids[d]) for t in new.tasks for d in t.dependencies]
    _executemany(db, "task_dependencies", ("task_id", "dependency_id"), deps)


def _executemany(db: pw.Database, table: str, columns: Sequence[str], rows: list[tuple]) -> None:
    if not rows:
        return
    marks = ", ".join([db.param] * len(columns))
    sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
    cursor = db.cursor()
    cursor.executemany(sql, rows)


def _job_query() -> pw.ModelSelect[Job]:
    return Job.select(Job, WorkerTag).join(WorkerTag, pw.JOIN.LEFT_OUTER)


_JOB_BY_UUID = Prepared(lambda u: _job_query().where(Job.uuid == u), str)
_HAS_TASKS_IN: dict[tuple[str, ...], Prepared] = {}


def fetch_job(job_uuid: str) -> Job:
    job = _JOB_BY_UUID.first(job_uuid)
    if job is None:
        raise NotFound(f"job {job_uuid} does not exist")
    return job


def list_jobs(
    limit: int | None = None, offset: int = 0, statuses: Sequence[str] | None = None,
    include_deleted: bool = True,
) -> tuple[list[Job], int]:
    """Jobs, newest first, with the total count before paging."""
    query = _job_query()
    if statuses:
        query = query.where(Job.status.in_(list(statuses)))
    if not include_deleted:
        query = query.where(Job.delete_requested_at.is_null())
    total = query.count()
    query = query.order_by(Job.created_at.desc(), Job.id.desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(query), total


def set_priority(job_uuid: str, priority: int, now: dt.datetime) -> Job:
    job = fetch_job(job_uuid)
    Job.update(priority=priority, updated_at=now).where(Job.id == job.id).execute()
    # Keep the denormalised copy in step: the scheduler orders on tasks.job_priority.
    Task.update(job_priority=priority).where(Task.job == job.id).execute()
    return fetch_job(job_uuid)


def set_tag(job_uuid: str, tag_id_or_name: str | None, now: dt.datetime) -> Job:
    job = fetch_job(job_uuid)
    tag = None
    if tag_id_or_name:
        tag = WorkerTag.get_or_none(
            (WorkerTag.uuid == tag_id_or_name) | (WorkerTag.name == tag_id_or_name))
        if tag is None:
            raise NotFound(f"worker tag {tag_id_or_name!r} does not exist")
    Job.update(worker_tag=tag.id if tag else None, updated_at=now).where(Job.id == job.id).execute()
    return fetch_job(job_uuid)


def update_job(job_id: int, **fields: Any) -> None:
    update_by_id(Job, job_id, fields)


def has_tasks_in(job_id: int, statuses) -> bool:
    """Whether any task of the job has one of `statuses`: index seeks on (job_id, status), no scan."""
    key = tuple(str(s) for s in statuses)
    query = _HAS_TASKS_IN.get(key)
    if query is None:
        query = _HAS_TASKS_IN[key] = Prepared(
            lambda j: Task.select(Task.id).where((Task.job == j) & Task.status.in_(list(key))).limit(1), int)
    return query.scalar(job_id) is not None


def count_tasks(job_id: int, status: str | None = None) -> int:
    query = Task.select(Task.id).where(Task.job == job_id)
    if status is not None:
        query = query.where(Task.status == status)
    return query.count()


def steps_completed(job_id: int) -> int:
    return Task.select(pw.fn.COALESCE(pw.fn.SUM(Task.steps_completed), 0)).where(
        Task.job == job_id).scalar()


def request_deletion(job_uuid: str, now: dt.datetime) -> Job:
    job = fetch_job(job_uuid)
    if job.delete_requested_at is None:
        Job.update(delete_requested_at=now, updated_at=now).where(Job.id == job.id).execute()
    return fetch_job(job_uuid)


def request_mass_deletion(last_updated_max: dt.datetime, now: dt.datetime) -> list[str]:
    uuids = [u for (u,) in tuples(Job.select(Job.uuid).where(
        (Job.updated_at <= last_updated_max) & Job.delete_requested_at.is_null()))]
    if uuids:
        Job.update(delete_requested_at=now).where(Job.uuid.in_(uuids)).execute()
    return uuids


def job_with_checkout(checkout_id: str, other_than: int | None = None) -> Job | None:
    """The (first) job whose `storage_shaman_checkout_id` is exactly `checkout_id`, if any."""
    query = Job.select().where(Job.storage_shaman_checkout_id == checkout_id)
    if other_than is not None:
        query = query.where(Job.id != other_than)
    return query.order_by(Job.id).first()


def jobs_pending_deletion() -> list[Job]:
    return list(Job.select().where(Job.delete_requested_at.is_null(False)).order_by(Job.id))


def delete_job(job_uuid: str) -> bool:
    """Delete the job row; tasks, dependencies, failures and blocks go with it (FK cascade)."""
    db = current_db()
    fk_on = db.execute_sql("PRAGMA foreign_keys").fetchone() if isinstance(db, pw.SqliteDatabase) else (1,)
    if not fk_on or not fk_on[0]:
        raise RuntimeError("refusing to delete a job with foreign keys off: its tasks would be left")
    return Job.delete().where(Job.uuid == job_uuid).execute() > 0


def jobs_by_status(statuses: Iterable[str]) -> list[Job]:
    return list(Job.select().where(Job.status.in_(list(statuses))))


def count_active_jobs() -> dict[str, int]:
    rows = Job.select(Job.status, pw.fn.COUNT(Job.id)).where(
        Job.status.in_([JobStatus.ACTIVE.value, JobStatus.QUEUED.value])).group_by(Job.status)
    return dict(tuples(rows))
