"""`WorkerRow`: one row of the dashboard's worker list, the Manager's worker models plus the dashboard's facts.

A row keeps what the worker list and the worker events say (`app.api.workers.WorkerSummary`: status,
version, last seen, the asked-for change, vitals), the worker's own answer once it was read
(`details`, an `app.api.workers.Worker`: platform, tags, task types; the summaries lack these), its
sleep schedule, and the task it shows (`ShownTask`, from its details, then from task events). Each
kind of event has one method that folds it in: `apply` (a `WorkerUpdate`), `vitals_arrived` (a
`WorkerVitalsUpdate`); the dashboard decides which of them are fresh enough to apply.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.api.events import TaskUpdate, WorkerUpdate, WorkerVitalsUpdate
from app.api.workers import Worker, WorkerSleepSchedule, WorkerSummary, WorkerTask


@dataclass(slots=True)
class ShownTask:
    """The task a worker's row shows: the one its details name, then as task events change it."""

    id: str
    name: str
    job_id: str
    status: str
    updated: str
    steps_completed: int
    steps_total: int

    @classmethod
    def of_worker(cls, task: WorkerTask) -> ShownTask:
        return cls(task.id, task.name, task.job_id, str(task.status), task.updated, task.steps_completed,
                   task.steps_total)

    @classmethod
    def of_event(cls, event: TaskUpdate) -> ShownTask:
        return cls(event.id, event.name, event.job_id, str(event.status), event.updated, event.steps_completed,
                   event.steps_total)


@dataclass(slots=True, eq=False)
class WorkerRow:
    manager: str                  # the label of the Manager the worker belongs to
    worker: WorkerSummary
    updated: str | None = None    # the time of the newest worker event applied (the summaries carry none)
    details: Worker | None = None  # None until the worker's own answer was read
    task: ShownTask | None = None  # its current or last task (known once its details were read)
    sleep_schedule: WorkerSleepSchedule | None = None

    @property
    def key(self) -> str:
        return f"{self.manager}/{self.worker.id}"

    @property
    def id(self) -> str:
        return self.worker.id

    @property
    def name(self) -> str:
        return self.worker.name

    @property
    def status(self) -> str:
        return str(self.worker.status)

    @property
    def current_task(self) -> ShownTask | None:
        """The task it runs now: its task while that task is active (an idle worker has none)."""
        return self.task if self.task is not None and self.task.status == "active" else None

    @classmethod
    def from_update(cls, manager: str, update: WorkerUpdate) -> WorkerRow:
        row = cls(manager, WorkerSummary(id=update.id, name=update.name, status=update.status,
                                         version=update.version, can_restart=update.can_restart))
        row.apply(update)
        return row

    def apply(self, update: WorkerUpdate) -> None:
        """Fold a worker event in: it states the whole of the worker's state (an absent last seen
        or asked-for change is none)."""
        w = self.worker
        w.name, w.status, w.version, w.can_restart = update.name, update.status, update.version, update.can_restart
        w.last_seen, w.status_change = update.last_seen, update.status_change
        self.updated = update.updated

    def details_read(self, details: Worker, schedule: WorkerSleepSchedule | None, task: ShownTask | None) -> None:
        """The worker's own answer: what the summaries lack, and the task to show (the dashboard
        chooses between the answer's and a newer one that task events told of meanwhile)."""
        self.details, self.sleep_schedule, self.task = details, schedule, task

    def vitals_arrived(self, event: WorkerVitalsUpdate, seen_later: bool) -> None:
        """New vitals replace the last ones; the worker was seen when it sent them (`seen_later`:
        that is later than the last seen the row has)."""
        self.worker.vitals = event.vitals
        if seen_later:
            self.worker.last_seen = event.last_seen


@dataclass(frozen=True, slots=True)
class WorkerDelta:
    """A worker event as the table applies it: the event and the Manager it came from."""

    manager: str
    update: WorkerUpdate

    @property
    def key(self) -> str:
        return f"{self.manager}/{self.update.id}"


def worker_field(row: WorkerRow, name: str) -> object:
    """A field by name, for the filter proxy: the worker's, its details' (platform), or `manager`."""
    if name == "manager":
        return row.manager
    if name == "platform":
        return row.details.platform if row.details is not None else None
    return getattr(row.worker, name, None)
