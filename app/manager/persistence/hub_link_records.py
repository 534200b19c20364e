"""A site Manager's records for its link to a hub: the hub messages it applied, and the questions
the hub asks of its jobs and workers (what changed since a moment, how busy the site is).

`hub_link_applied` keeps each applied message's id with the answer given, so a message the hub
sends again (it never saw the answer: the connection dropped) gets the same answer and changes
nothing. Every function runs inside a Store call.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import peewee as pw

from app.api.enums import TaskStatus
from app.manager.persistence.models import BaseModel, Job, Task, Worker, tuples


class HubLinkApplied(BaseModel):
    id: pw.AutoField[int]
    msg_id = pw.CharField(max_length=36, unique=True)
    result = pw.TextField()
    applied_at = pw.DateTimeField()

    class Meta:
        table_name = "hub_link_applied"


def applied_result(msg_id: str) -> dict[str, Any] | None:
    """The answer given to message `msg_id`, or None when it was never applied."""
    row = HubLinkApplied.get_or_none(HubLinkApplied.msg_id == msg_id)
    return json.loads(row.result) if row is not None else None


def record_applied(msg_id: str, result: dict[str, Any], now: dt.datetime) -> None:
    (HubLinkApplied.insert(msg_id=msg_id, result=json.dumps(result, separators=(",", ":")), applied_at=now)
     .on_conflict_ignore().execute())


def job_exists(job_uuid: str) -> bool:
    return Job.select(Job.id).where(Job.uuid == job_uuid).exists()


def job_uuids_changed_since(since: dt.datetime | None) -> list[str]:
    """Jobs changed at or after `since` (all jobs for None), oldest change first."""
    query = Job.select(Job.uuid).order_by(Job.updated_at)
    if since is not None:
        query = query.where(Job.updated_at >= since)
    return [uuid for (uuid,) in tuples(query)]


def all_job_uuids() -> list[str]:
    return [uuid for (uuid,) in tuples(Job.select(Job.uuid))]


def load() -> dict[str, int]:
    """How busy the site is, for the hub's routing: workers awake and idle, tasks waiting."""
    awake = [wid for (wid,) in tuples(Worker.select(Worker.id).where(
        (Worker.status == "awake") & Worker.deleted_at.is_null()))]
    busy = set()
    if awake:
        busy = {wid for (wid,) in tuples(Task.select(Task.worker).where(
            Task.worker.in_(awake) & (Task.status == TaskStatus.ACTIVE.value)))}
    queued = Task.select().where(Task.status == TaskStatus.QUEUED.value).count()
    return {"awake_workers": len(awake), "idle_workers": len(set(awake) - busy), "queued_tasks": queued}
