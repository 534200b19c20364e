"""Wire models of workers as the dashboard sees them: summaries, details, tags, sleep schedules."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.codec import Wire
from app.api.enums import TaskStatus, WorkerStatus


@dataclass(slots=True)
class WorkerStatusChangeRequest(Wire):
    """A status the Manager asks a worker to go to; `is_lazy`: after its current task."""

    status: WorkerStatus
    is_lazy: bool


@dataclass(slots=True)
class WorkerTag(Wire):
    name: str
    id: str | None = None
    description: str | None = None


@dataclass(slots=True)
class WorkerTask(Wire):
    """The task a worker runs or last ran (TaskSummary plus its job)."""

    id: str
    name: str
    status: TaskStatus
    index_in_job: int
    priority: int
    task_type: str
    updated: str
    steps_completed: int
    steps_total: int
    job_id: str


@dataclass(slots=True)
class WorkerSummary(Wire):
    id: str
    name: str
    status: WorkerStatus
    version: str
    can_restart: bool
    last_seen: str | None = None
    status_change: WorkerStatusChangeRequest | None = None


@dataclass(slots=True)
class Worker(Wire):
    """All the Manager knows about one worker."""

    id: str
    name: str
    status: WorkerStatus
    version: str
    can_restart: bool
    ip_address: str
    platform: str
    supported_task_types: list[str]
    last_seen: str | None = None
    status_change: WorkerStatusChangeRequest | None = None
    tags: list[WorkerTag] = field(default_factory=list)
    task: WorkerTask | None = None


@dataclass(slots=True)
class WorkerSleepSchedule(Wire):
    """When a worker sleeps: `start_time`-`end_time` (HH:MM) on `days_of_week` ("mo tu"; empty: every day)."""

    is_active: bool
    days_of_week: str
    start_time: str
    end_time: str


@dataclass(slots=True)
class WorkerTagChangeRequest(Wire):
    tag_ids: list[str]
