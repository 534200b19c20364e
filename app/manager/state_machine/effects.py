"""Effects of a status change, collected on the store thread and carried out on the event loop.

State changes are decided and written in one store transaction; the events to broadcast, the log
lines to write and the waiters to wake are gathered here and applied after the commit, so no event
ever describes a change that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.common import events as ev
from app.common.clock import to_rfc3339
from app.manager.persistence.models import Job, Task, Worker


@dataclass
class Effects:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    log_lines: list[tuple[str, str, str]] = field(default_factory=list)  # (job uuid, task uuid, line)
    watched_tasks: set[str] = field(default_factory=set)
    watched_workers: set[str] = field(default_factory=set)
    work_available: bool = False
    jobs_to_delete: list[str] = field(default_factory=list)

    def log(self, job_uuid: str, task_uuid: str, line: str) -> None:
        self.log_lines.append((job_uuid, task_uuid, line))

    def task_changed(self, task: Task, job: Job, previous: str | None, worker: Worker | None = None) -> None:
        data: dict[str, Any] = {
            "id": task.uuid, "job_id": job.uuid, "name": task.name, "updated": to_rfc3339(task.updated_at),
            "status": task.status, "activity": task.activity,
            "steps_completed": task.steps_completed, "steps_total": task.steps_total,
        }
        if previous is not None and previous != task.status:
            data["previous_status"] = previous
        if worker is not None:
            data["worker"] = {"id": worker.uuid, "name": worker.name}
        self.events.append((ev.TASK_DID_CHANGE, data))
        self.watched_tasks.add(task.uuid)

    def job_changed(self, job: Job, previous: str | None, refresh_tasks: bool = False) -> None:
        data: dict[str, Any] = {
            "id": job.uuid, "name": job.name, "updated": to_rfc3339(job.updated_at), "status": job.status,
            "type": job.job_type, "priority": job.priority, "refresh_tasks": refresh_tasks,
            "steps_completed": job.steps_completed, "steps_total": job.steps_total,
        }
        if previous is not None and previous != job.status:
            data["previous_status"] = previous
        if job.delete_requested_at is not None:
            data["delete_requested_at"] = to_rfc3339(job.delete_requested_at)
        self.events.append((ev.JOB_DID_CHANGE, data))

    def worker_changed(self, worker: Worker, previous: str | None = None) -> None:
        from app.manager.convert import worker_event  # local: convert imports persistence models

        self.events.append((ev.WORKER_DID_CHANGE, worker_event(worker, previous)))
        self.watched_workers.add(worker.uuid)
