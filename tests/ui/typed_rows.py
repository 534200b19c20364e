"""Typed rows and events for unit tests of the dashboard's tables (jobs, workers, tasks): a model from
just the fields a test cares about, the rest filled in as a fresh one has them."""

from __future__ import annotations

from typing import Any

from app.api.events import JobUpdate, TaskUpdate, WorkerUpdate
from app.api.jobs import Job, TaskSummary
from app.api.workers import WorkerSummary
from app.ui.models.job_row import JobDelta, JobRow
from app.ui.models.task_row import TaskRow
from app.ui.models.worker_row import WorkerRow

_JOB: dict[str, Any] = {"id": "j", "name": "job", "type": "render", "priority": 50, "status": "queued",
                        "activity": "", "created": "", "updated": "", "steps_completed": 0, "steps_total": 0,
                        "submitter_platform": "linux"}
_UPDATE: dict[str, Any] = {"id": "j", "updated": "2026-11-27T05:00:00Z", "status": "queued", "type": "render",
                           "priority": 50, "refresh_tasks": False, "steps_completed": 0, "steps_total": 0}


def job(**fields: Any) -> Job:
    return Job(**{**_JOB, **fields})


def job_row(manager: str = "m", **fields: Any) -> JobRow:
    return JobRow(manager, job(**fields))


def job_update(**fields: Any) -> JobUpdate:
    return JobUpdate(**{**_UPDATE, **fields})


def job_delta(manager: str = "m", **fields: Any) -> JobDelta:
    return JobDelta(manager, job_update(**fields))


_WORKER: dict[str, Any] = {"id": "w", "name": "worker", "status": "awake", "version": "3.6", "can_restart": False}


def worker_row(manager: str = "m", **fields: Any) -> WorkerRow:
    return WorkerRow(manager, WorkerSummary(**{**_WORKER, **fields}))


def worker_update(**fields: Any) -> WorkerUpdate:
    return WorkerUpdate(**{**_WORKER, "updated": "2026-11-27T05:00:00Z", **fields})


_TASK: dict[str, Any] = {"id": "t", "name": "task", "status": "queued", "updated": "2026-11-27T05:00:00Z",
                         "steps_completed": 0, "steps_total": 0}


def task_row(**fields: Any) -> TaskRow:
    return TaskRow(TaskSummary(**{**_TASK, "index_in_job": 0, "priority": 50, "task_type": "blender", **fields}))


def task_update(**fields: Any) -> TaskUpdate:
    return TaskUpdate(**{**_TASK, "job_id": "j", "activity": "", **fields})
