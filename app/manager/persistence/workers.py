"""Queries on workers, worker tags and sleep schedules.

Run inside a Store's transaction, on that Store's database (`models.current_db()`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import peewee as pw

from app.api.errors import Conflict
from app.manager.persistence.errors import NotFound
from app.manager.persistence.models import (
    Job,
    SleepSchedule,
    Task,
    Worker,
    WorkerTag,
    WorkerTagMembership,
    current_db,
    tuples,
)
from app.manager.persistence.prepared import Hydrator, Sql, update_by_id


def create_worker(**fields: Any) -> Worker:
    return Worker.create(**fields)


def fetch_worker(worker_uuid: str, include_deleted: bool = False) -> Worker:
    query = Worker.select().where(Worker.uuid == worker_uuid)
    if not include_deleted:
        query = query.where(Worker.deleted_at.is_null())
    worker = query.first()
    if worker is None:
        raise NotFound(f"worker {worker_uuid} does not exist")
    return worker


WORKER: Hydrator[Worker] = Hydrator([Worker])  # a worker's row (`scheduler_queries` reads it too)
_WORKER_BY_ID = Sql(f"SELECT {WORKER.columns(['w'])} FROM workers w WHERE w.id = {{p}}")


def fetch_worker_by_id(worker_id: int) -> Worker:
    db = current_db()
    row = db.execute_sql(_WORKER_BY_ID.text(db), [worker_id]).fetchone()
    worker = WORKER.build(row) if row else None
    if worker is None:
        raise NotFound(f"worker #{worker_id} does not exist")
    return worker


def list_workers() -> list[Worker]:
    return list(Worker.select().where(Worker.deleted_at.is_null()).order_by(Worker.name, Worker.id))


def update_worker(worker_id: int, **fields: Any) -> None:
    update_by_id(Worker, worker_id, fields)


def all_credentials() -> list[tuple[int, str, str]]:
    return list(tuples(Worker.select(Worker.id, Worker.uuid, Worker.secret_hash)
                       .where(Worker.deleted_at.is_null())))


def worker_tags(worker_id: int) -> list[WorkerTag]:
    return list(WorkerTag.select().join(WorkerTagMembership).where(
        WorkerTagMembership.worker == worker_id).order_by(WorkerTag.name))


def active_task(worker_id: int) -> Task | None:
    """The task the worker runs now (the scheduler gives a worker one at a time), or None."""
    return (Task.select(Task, Job).join(Job).where((Task.worker == worker_id) & (Task.status == "active"))
            .order_by(Task.updated_at.desc()).first())


def timed_out_workers(before: dt.datetime, skip_statuses: Sequence[str]) -> list[Worker]:
    return list(Worker.select().where(
        (Worker.last_seen_at < before) & Worker.status.not_in(list(skip_statuses))
        & Worker.deleted_at.is_null()))


def soft_delete(worker_id: int, now: dt.datetime) -> None:
    Worker.update(deleted_at=now, updated_at=now, status="offline").where(Worker.id == worker_id).execute()
    WorkerTagMembership.delete().where(WorkerTagMembership.worker == worker_id).execute()


# --- tags ------------------------------------------------------------------------------------
def list_tags() -> list[WorkerTag]:
    return list(WorkerTag.select().order_by(WorkerTag.name))


def fetch_tag(tag_uuid: str) -> WorkerTag:
    tag = WorkerTag.get_or_none(WorkerTag.uuid == tag_uuid)
    if tag is None:
        raise NotFound(f"worker tag {tag_uuid} does not exist")
    return tag


def create_tag(tag_uuid: str, name: str, description: str) -> WorkerTag:
    if WorkerTag.select().where(WorkerTag.name == name).exists():
        raise Conflict(f"a worker tag named {name!r} already exists")
    if WorkerTag.select().where(WorkerTag.uuid == tag_uuid).exists():
        raise Conflict(f"a worker tag with id {tag_uuid} already exists")
    return WorkerTag.create(uuid=tag_uuid, name=name, description=description)


def update_tag(tag_uuid: str, name: str, description: str) -> WorkerTag:
    tag = fetch_tag(tag_uuid)
    if WorkerTag.select().where((WorkerTag.name == name) & (WorkerTag.id != tag.id)).exists():
        raise Conflict(f"a worker tag named {name!r} already exists")
    WorkerTag.update(name=name, description=description).where(WorkerTag.id == tag.id).execute()
    return fetch_tag(tag_uuid)


def delete_tag(tag_uuid: str, unfinished_statuses: Sequence[str]) -> None:
    """Delete a tag. Refused while unfinished jobs use it: they would silently run anywhere."""
    tag = fetch_tag(tag_uuid)
    busy = Job.select().where((Job.worker_tag == tag.id) & Job.status.in_(list(unfinished_statuses)))
    count = busy.count()
    if count:
        raise Conflict(f"worker tag {tag.name!r} is used by {count} unfinished job(s); "
                       "finish, delete or re-tag them first")
    Job.update(worker_tag=None).where(Job.worker_tag == tag.id).execute()
    tag.delete_instance()


def set_worker_tags(worker_id: int, tag_uuids: Sequence[str]) -> None:
    tags = list(WorkerTag.select().where(WorkerTag.uuid.in_(list(tag_uuids))))
    missing = set(tag_uuids) - {t.uuid for t in tags}
    if missing:
        raise NotFound(f"worker tag(s) do not exist: {', '.join(sorted(missing))}")
    WorkerTagMembership.delete().where(WorkerTagMembership.worker == worker_id).execute()
    if tags:
        WorkerTagMembership.insert_many([(worker_id, t.id) for t in tags],
                                        fields=[WorkerTagMembership.worker, WorkerTagMembership.tag]).execute()


# --- sleep schedules -------------------------------------------------------------------------
def fetch_sleep_schedule(worker_id: int) -> SleepSchedule | None:
    return SleepSchedule.get_or_none(SleepSchedule.worker == worker_id)


def set_sleep_schedule(worker_id: int, **fields: Any) -> None:
    (SleepSchedule.insert(worker=worker_id, **fields)
     .on_conflict(conflict_target=[SleepSchedule.worker], update=fields).execute())


def set_sleep_schedule_next_check(schedule_id: int, next_check: dt.datetime) -> None:
    SleepSchedule.update(next_check=next_check).where(SleepSchedule.id == schedule_id).execute()


def due_sleep_schedules(now: dt.datetime) -> list[tuple[SleepSchedule, Worker]]:
    rows = (SleepSchedule.select(SleepSchedule, Worker).join(Worker)
            .where(SleepSchedule.is_active & Worker.deleted_at.is_null()
                   & ((SleepSchedule.next_check.is_null()) | (SleepSchedule.next_check <= now))))
    return [(s, s.worker) for s in rows]


def status_counts() -> dict[str, int]:
    rows = (Worker.select(Worker.status, pw.fn.COUNT(Worker.id))
            .where(Worker.deleted_at.is_null()).group_by(Worker.status))
    return dict(tuples(rows))


def names_with_status(statuses: Sequence[str]) -> list[str]:
    """Names of the workers (not deleted) whose status is one of `statuses`."""
    return [name for (name,) in tuples(Worker.select(Worker.name).where(
        Worker.deleted_at.is_null(), Worker.status.in_(list(statuses))).order_by(Worker.name))]


def set_last_seen(seen: dict[int, dt.datetime]) -> None:
    """Move workers' `last_seen_at` forward (never back) to the given times, in one statement."""
    if not seen:
        return
    db = current_db()
    p = db.param
    sql = (f"UPDATE workers SET last_seen_at = {p} "
           f"WHERE id = {p} AND (last_seen_at IS NULL OR last_seen_at < {p})")
    db.cursor().executemany(sql, [(when, worker_id, when) for worker_id, when in seen.items()])
