"""What a worker's claim for a task comes to: one small type per outcome.

`WorkerSessions.schedule` answers with an `Assignment`, which the HTTP handler turns into a status
code: `TaskAssigned` (200, with the task), `NO_TASK` (204), `MustChangeStatus` (423) or `NotAwake`
(409). On the store thread, a claim's transaction gives `Claimed` or `NothingRunnable` instead of
the first two, as the service still has work to do with them (expand the commands for the worker's
platform; or queue the worker up to wait for work it can run).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from app.manager.persistence.models import Job, Task, Worker
from app.manager.scheduling.waiters import Profile


@dataclass(frozen=True, slots=True)
class TaskAssigned:
    """The task this worker is to run now, as the API's assigned-task JSON."""

    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class NoTask:
    """Nothing this worker can run, now or within its wait."""


NO_TASK = NoTask()


@dataclass(frozen=True, slots=True)
class MustChangeStatus:
    """The Manager asked this worker to change its status; it takes no task before it did."""

    status_requested: str


@dataclass(frozen=True, slots=True)
class NotAwake:
    """The worker has not said it is awake (it signed on, or is asleep): it must say so first."""

    status: str

    @property
    def message(self) -> str:
        return f"worker is {self.status!r}, not awake; announce the state first"


Assignment: TypeAlias = TaskAssigned | NoTask | MustChangeStatus | NotAwake


@dataclass(frozen=True, slots=True)
class Claimed:
    """In the claim's transaction: the task this worker runs (just assigned, or already its own)."""

    worker: Worker
    task: Task
    job: Job


@dataclass(frozen=True, slots=True)
class NothingRunnable:
    """In the claim's transaction: no task for this worker; `profile` is what it can run, for its
    place among the workers that wait for work."""

    profile: Profile


ClaimResult: TypeAlias = Claimed | NothingRunnable | MustChangeStatus | NotAwake
