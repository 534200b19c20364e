"""Effects of a status change, collected on the store thread and carried out on the event loop.

State changes are decided and written in one store transaction; the events to broadcast, the log
lines to write and the waiters to wake are gathered here and applied after the commit, so no event
ever describes a change that was rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.manager.jobs import convert
from app.manager.persistence.models import Job, Task, Worker
from app.manager.persistence.task_runs import RunRecord


@dataclass
class Effects:
    events: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    log_lines: list[tuple[str, str, str]] = field(default_factory=list)  # (job uuid, task uuid, line)
    watched_tasks: set[str] = field(default_factory=set)
    watched_workers: set[str] = field(default_factory=set)
    work_available: bool = False
    jobs_to_delete: list[str] = field(default_factory=list)
    #: Tasks workers reported completed or failed, for their history (`app.manager.workers.task_runs`).
    runs: list[RunRecord] = field(default_factory=list)

    def log(self, job_uuid: str, task_uuid: str, line: str) -> None:
        self.log_lines.append((job_uuid, task_uuid, line))

    def task_changed(self, task: Task, job: Job, previous: str | None, worker: Worker | None = None) -> None:
        payload = convert.task_update(task, job, previous, worker)
        self.events.append((payload.TOPIC, payload.to_json()))
        self.watched_tasks.add(task.uuid)

    def job_changed(self, job: Job, previous: str | None, refresh_tasks: bool = False,
                    first: bool = False) -> None:
        """`first`: the job was just submitted (its event carries its metadata and settings)."""
        payload = convert.job_update(job, previous, refresh_tasks, first=first)
        self.events.append((payload.TOPIC, payload.to_json()))

    def worker_changed(self, worker: Worker, previous: str | None = None) -> None:
        payload = convert.worker_update(worker, previous)
        self.events.append((payload.TOPIC, payload.to_json()))
        self.watched_workers.add(worker.uuid)
