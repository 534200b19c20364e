"""Conversions from store rows to the JSON shapes of the Flamenco v3 API.

Only attributes that were loaded by the query are touched here (no lazy relation loads), so these
functions are safe on the event loop's thread.
"""

from __future__ import annotations

from typing import Any

from app.common.clock import to_rfc3339
from app.manager.persistence.models import Job, SleepSchedule, Task, Worker, WorkerTag


def job_json(job: Job) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": job.uuid, "name": job.name, "type": job.job_type, "priority": job.priority,
        "status": job.status, "activity": job.activity, "settings": job.settings or {},
        "metadata": job.metadata or {}, "submitter_platform": job.submitter_platform,
        "created": to_rfc3339(job.created_at), "updated": to_rfc3339(job.updated_at),
        "steps_completed": job.steps_completed, "steps_total": job.steps_total,
    }
    if job.type_etag:
        out["type_etag"] = job.type_etag
    if job.storage_shaman_checkout_id:
        out["storage"] = {"shaman_checkout_id": job.storage_shaman_checkout_id}
    if job.worker_tag_id is not None and job.__rel__.get("worker_tag") is not None:
        out["worker_tag"] = job.worker_tag.uuid
    if job.delete_requested_at is not None:
        out["delete_requested_at"] = to_rfc3339(job.delete_requested_at)
    return out


def task_worker_json(worker: Worker | None) -> dict[str, str] | None:
    if worker is None or not getattr(worker, "uuid", None):
        return None
    return {"id": worker.uuid, "name": worker.name, "address": worker.address or ""}


def _task_worker(task: Task) -> Worker | None:
    return task.__rel__.get("worker") if task.worker_id is not None else None


def task_summary_json(task: Task) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": task.uuid, "name": task.name, "status": task.status, "index_in_job": task.index_in_job,
        "priority": task.priority, "task_type": task.type, "updated": to_rfc3339(task.updated_at),
        "steps_completed": task.steps_completed, "steps_total": task.steps_total,
    }
    worker = task_worker_json(_task_worker(task))
    if worker:
        out["worker"] = worker
    return out


def task_json(task: Task, failed_by: list[Worker]) -> dict[str, Any]:
    out = task_summary_json(task)
    out.update({
        "created": to_rfc3339(task.created_at), "job_id": task.job.uuid, "activity": task.activity,
        "commands": task.commands,
        "failed_by_workers": [task_worker_json(w) for w in failed_by],
    })
    if task.last_touched_at is not None:
        out["last_touched"] = to_rfc3339(task.last_touched_at)
    return out


def assigned_task_json(task: Task, job: Job, commands: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "uuid": task.uuid, "job": job.uuid, "name": task.name, "status": task.status,
        "priority": task.priority, "job_priority": job.priority, "job_type": job.job_type,
        "task_type": task.type, "commands": commands,
        "steps_completed": task.steps_completed, "steps_total": task.steps_total,
    }


def status_change_json(worker: Worker) -> dict[str, Any] | None:
    if not worker.status_requested:
        return None
    return {"status": worker.status_requested, "is_lazy": bool(worker.lazy_status_request)}


def worker_summary_json(worker: Worker) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": worker.uuid, "name": worker.name, "status": worker.status or "offline",
        "version": worker.software, "can_restart": bool(worker.can_restart),
    }
    if worker.last_seen_at is not None:
        out["last_seen"] = to_rfc3339(worker.last_seen_at)
    change = status_change_json(worker)
    if change:
        out["status_change"] = change
    return out


def worker_json(worker: Worker, tags: list[WorkerTag], task: Task | None) -> dict[str, Any]:
    out = worker_summary_json(worker)
    out.update({
        "ip_address": worker.address, "platform": worker.platform,
        "supported_task_types": [t for t in worker.supported_task_types.split(",") if t],
        "tags": [tag_json(t) for t in tags],
    })
    if task is not None:
        summary = task_summary_json(task)
        summary["job_id"] = task.job.uuid
        out["task"] = summary
    return out


def worker_event(worker: Worker, previous: str | None = None) -> dict[str, Any]:
    out = worker_summary_json(worker)
    out["updated"] = to_rfc3339(worker.updated_at)
    if previous and previous != worker.status:
        out["previous_status"] = previous
    if worker.deleted_at is not None:
        out["deleted_at"] = to_rfc3339(worker.deleted_at)
    return out


def tag_json(tag: WorkerTag) -> dict[str, Any]:
    return {"id": tag.uuid, "name": tag.name, "description": tag.description}


def sleep_schedule_json(schedule: SleepSchedule) -> dict[str, Any]:
    return {"is_active": schedule.is_active, "days_of_week": schedule.days_of_week,
            "start_time": schedule.start_time, "end_time": schedule.end_time}
