"""`TaskRow`: one row of the job detail's task table, the Manager's `TaskSummary` changed by task events.

The task list (`GET /api/v3/jobs/{id}/tasks`) gives each task as a `TaskSummary`; afterwards each
`TaskUpdate` event is folded in by `apply`. A task first heard of through an event has no place in
the job yet (`index_in_job` is None until the list is read again), so its "#" cell stays empty.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.api.events import TaskUpdate
from app.api.jobs import TaskSummary, TaskWorker
from app.api.task_stats import TaskRunStats


@dataclass(slots=True, eq=False)
class TaskRow:
    task: TaskSummary
    listed: bool = True   # from the task list (False: made from an event, its index unknown)
    #: What the task's latest finished run measured (`app.ui.task_stats`); task events never carry it,
    #: and folding one in keeps it.
    run: TaskRunStats | None = None

    @property
    def key(self) -> str:
        return self.task.id

    @property
    def id(self) -> str:
        return self.task.id

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def status(self) -> str:
        return str(self.task.status)

    @classmethod
    def from_update(cls, update: TaskUpdate) -> TaskRow:
        row = cls(TaskSummary(id=update.id, name=update.name, status=update.status, index_in_job=0, priority=0,
                              task_type="", updated=update.updated, steps_completed=update.steps_completed,
                              steps_total=update.steps_total), listed=False)
        row.apply(update)
        return row

    def apply(self, update: TaskUpdate) -> None:
        """Fold a task event in; an event without a worker leaves the one shown."""
        t = self.task
        t.name, t.status, t.updated, t.activity = update.name, update.status, update.updated, update.activity
        t.steps_completed, t.steps_total = update.steps_completed, update.steps_total
        if update.worker is not None:
            t.worker = TaskWorker(id=update.worker.id or update.worker.uuid, name=update.worker.name,
                                  address=t.worker.address if t.worker is not None else "")


def task_field(row: TaskRow, name: str) -> object:
    """A field of the row's task by name (the filter proxy searches and filters by field names)."""
    return getattr(row.task, name, None)
