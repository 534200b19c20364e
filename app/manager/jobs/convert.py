"""Conversions from store rows to the wire models of `app.api` (and their JSON).

Every job, task, worker, tag, sleep schedule and event payload the Manager sends is built here
from its `app.api` model, so the shape is defined once, in the model. Only attributes that were
loaded by the query are touched here (no lazy relation loads), so these functions are safe on the
event loop's thread.
"""

from __future__ import annotations

from typing import Any

from app.api import events as api_events
from app.api.enums import JobStatus, TaskStatus, WorkerStatus
from app.api.jobs import Job as ApiJob
from app.api.jobs import JobStorageInfo, TaskSummary, TaskWorker
from app.api.jobs import Task as ApiTask
from app.api.workers import Worker as ApiWorker
from app.api.workers import (
    WorkerSleepSchedule,
    WorkerStatusChangeRequest,
    WorkerSummary,
    WorkerTask,
)
from app.api.workers import (
    WorkerTag as ApiWorkerTag,
)
from app.common.clock import to_rfc3339
from app.manager.persistence.models import Job, SleepSchedule, Task, Worker, WorkerTag


def job_model(job: Job) -> ApiJob:
    tag = job.__rel__.get("worker_tag") if job.worker_tag_id is not None else None
    return ApiJob(
        id=job.uuid, name=job.name, type=job.job_type, priority=job.priority, status=JobStatus(job.status),
        activity=job.activity, settings=job.settings or {}, metadata=job.metadata or {},
        submitter_platform=job.submitter_platform, created=to_rfc3339(job.created_at),
        updated=to_rfc3339(job.updated_at), steps_completed=job.steps_completed,
        steps_total=job.steps_total, type_etag=job.type_etag or None,
        storage=JobStorageInfo(job.storage_shaman_checkout_id) if job.storage_shaman_checkout_id else None,
        worker_tag=tag.uuid if tag is not None else None,
        delete_requested_at=to_rfc3339(job.delete_requested_at) if job.delete_requested_at is not None else None,
        waiting_on=job.waiting_on or None,
    )


def job_json(job: Job) -> dict[str, Any]:
    return job_model(job).to_json()


def task_worker(worker: Worker | None) -> TaskWorker | None:
    if worker is None or not getattr(worker, "uuid", None):
        return None
    return TaskWorker(id=worker.uuid, name=worker.name, address=worker.address or "")


def _task_worker(task: Task) -> Worker | None:
    return task.__rel__.get("worker") if task.worker_id is not None else None


def task_summary_model(task: Task) -> TaskSummary:
    return TaskSummary(
        id=task.uuid, name=task.name, status=TaskStatus(task.status), index_in_job=task.index_in_job,
        priority=task.priority, task_type=task.type, updated=to_rfc3339(task.updated_at),
        steps_completed=task.steps_completed, steps_total=task.steps_total,
        worker=task_worker(_task_worker(task)), activity=task.activity,
    )


def task_summary_json(task: Task) -> dict[str, Any]:
    return task_summary_model(task).to_json()


def task_json(task: Task, failed_by: list[Worker]) -> dict[str, Any]:
    return ApiTask(
        id=task.uuid, name=task.name, status=TaskStatus(task.status), index_in_job=task.index_in_job,
        priority=task.priority, task_type=task.type, created=to_rfc3339(task.created_at),
        updated=to_rfc3339(task.updated_at), job_id=task.job.uuid, activity=task.activity,
        commands=task.commands, steps_completed=task.steps_completed, steps_total=task.steps_total,
        worker=task_worker(_task_worker(task)),
        failed_by_workers=[w for w in (task_worker(x) for x in failed_by) if w is not None],
        last_touched=to_rfc3339(task.last_touched_at) if task.last_touched_at is not None else None,
    ).to_json()


def assigned_task_json(task: Task, job: Job, commands: list[dict[str, Any]], *,
                       blend_scripts: bool = False, output_roots: list[str] | None = None,
                       output_denied: list[str] | None = None) -> dict[str, Any]:
    """The shape of `app.api.models.AssignedTask`, written out: this is the claim's hot path."""
    out = {
        "uuid": task.uuid, "job": job.uuid, "name": task.name, "status": task.status,
        "priority": task.priority, "job_priority": job.priority, "job_type": job.job_type,
        "task_type": task.type, "commands": commands,
        "steps_completed": task.steps_completed, "steps_total": task.steps_total,
        "blend_scripts": blend_scripts,
    }
    if output_roots is not None:
        out["output_roots"] = output_roots
        out["output_denied"] = output_denied or []
    return out


def status_change(worker: Worker) -> WorkerStatusChangeRequest | None:
    if not worker.status_requested:
        return None
    return WorkerStatusChangeRequest(status=WorkerStatus(worker.status_requested),
                                     is_lazy=bool(worker.lazy_status_request))


def _last_seen(worker: Worker) -> str | None:
    return to_rfc3339(worker.last_seen_at) if worker.last_seen_at is not None else None


def _worker_status(worker: Worker) -> WorkerStatus:
    return WorkerStatus(worker.status or "offline")


def worker_summary_json(worker: Worker) -> dict[str, Any]:
    return WorkerSummary(
        id=worker.uuid, name=worker.name, status=_worker_status(worker), version=worker.software,
        can_restart=bool(worker.can_restart), last_seen=_last_seen(worker), status_change=status_change(worker),
    ).to_json()


def worker_json(worker: Worker, tags: list[WorkerTag], task: Task | None) -> dict[str, Any]:
    current = None
    if task is not None:
        s = task_summary_model(task)
        current = WorkerTask(
            id=s.id, name=s.name, status=s.status, index_in_job=s.index_in_job, priority=s.priority,
            task_type=s.task_type, updated=s.updated, steps_completed=s.steps_completed,
            steps_total=s.steps_total, job_id=task.job.uuid, worker=task_worker(worker), activity=s.activity)
    return ApiWorker(
        id=worker.uuid, name=worker.name, status=_worker_status(worker), version=worker.software,
        can_restart=bool(worker.can_restart), last_seen=_last_seen(worker), status_change=status_change(worker),
        ip_address=worker.address, platform=worker.platform,
        supported_task_types=[t for t in worker.supported_task_types.split(",") if t],
        tags=[tag_model(t) for t in tags], task=current,
    ).to_json()


def worker_update(worker: Worker, previous: str | None = None) -> api_events.WorkerUpdate:
    """The `worker_did_change` payload; `previous_status` only when the status changed."""
    return api_events.WorkerUpdate(
        id=worker.uuid, name=worker.name, updated=to_rfc3339(worker.updated_at),
        status=_worker_status(worker), version=worker.software, can_restart=bool(worker.can_restart),
        last_seen=_last_seen(worker), status_change=status_change(worker),
        previous_status=WorkerStatus(previous) if previous and previous != worker.status else None,
        deleted_at=to_rfc3339(worker.deleted_at) if worker.deleted_at is not None else None,
    )


def tag_model(tag: WorkerTag) -> ApiWorkerTag:
    return ApiWorkerTag(id=tag.uuid, name=tag.name, description=tag.description)


def tag_json(tag: WorkerTag) -> dict[str, Any]:
    return tag_model(tag).to_json()


def sleep_schedule_json(schedule: SleepSchedule) -> dict[str, Any]:
    return WorkerSleepSchedule(is_active=schedule.is_active, days_of_week=schedule.days_of_week,
                               start_time=schedule.start_time, end_time=schedule.end_time).to_json()


def task_update(task: Task, job: Job, previous: str | None, worker: Worker | None = None,
                ) -> api_events.TaskUpdate:
    """The `task_did_change` payload; `previous_status` only when the status changed."""
    return api_events.TaskUpdate(
        id=task.uuid, job_id=job.uuid, name=task.name, updated=to_rfc3339(task.updated_at),
        status=TaskStatus(task.status), activity=task.activity, steps_completed=task.steps_completed,
        steps_total=task.steps_total,
        previous_status=TaskStatus(previous) if previous is not None and previous != task.status else None,
        worker=api_events.AssignedWorker(uuid=worker.uuid, name=worker.name) if worker is not None else None,
    )


def job_update(job: Job, previous: str | None, refresh_tasks: bool = False, was_deleted: bool = False,
               first: bool = False) -> api_events.JobUpdate:
    """The `job_did_change` payload; `previous_status` only when the status changed.

    `first`: the job's first event (its submission), which also carries what never changes after
    it: metadata, settings and the submitter's platform.
    """
    return api_events.JobUpdate(
        id=job.uuid, name=job.name, updated=to_rfc3339(job.updated_at), status=JobStatus(job.status),
        type=job.job_type, priority=job.priority, refresh_tasks=refresh_tasks,
        steps_completed=job.steps_completed, steps_total=job.steps_total,
        previous_status=JobStatus(previous) if previous is not None and previous != job.status else None,
        delete_requested_at=to_rfc3339(job.delete_requested_at) if job.delete_requested_at is not None else None,
        was_deleted=True if was_deleted else None,
        activity=job.activity, created=to_rfc3339(job.created_at), worker_tag=_event_tag(job),
        metadata=(job.metadata or {}) if first else None, settings=(job.settings or {}) if first else None,
        submitter_platform=job.submitter_platform if first else None, waiting_on=job.waiting_on,
    )


def _event_tag(job: Job) -> str | None:
    """The job's worker tag id for an event: "" for none, None (left out) when the query that
    loaded the job did not join its tag (a lazy load here would cost a query per event)."""
    if job.worker_tag_id is None:
        return ""
    tag = job.__rel__.get("worker_tag")
    return tag.uuid if tag is not None else None
