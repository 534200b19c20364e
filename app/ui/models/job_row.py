"""`JobRow`: one row of the dashboard's job table, the Manager's `Job` plus what the dashboard adds.

A row holds the typed `app.api.jobs.Job` as the Manager last described it and the label of the
Manager it came from; `apply` folds one `JobUpdate` event into it, so the table follows the event
stream by deltas without ever turning the wire models back into dicts. A job first heard of
through an event (submitted after the snapshot) becomes a row from that event alone: its first
event carries every fact the table shows (`app.api.events.JobUpdate`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from app.api.events import JobUpdate
from app.api.jobs import Job


@dataclass(slots=True, eq=False)
class JobRow:
    manager: str          # the label of the Manager the job lives on
    job: Job

    @property
    def key(self) -> str:
        return f"{self.manager}/{self.job.id}"

    @property
    def id(self) -> str:
        return self.job.id

    @property
    def name(self) -> str:
        return self.job.name

    @property
    def status(self) -> str:
        return str(self.job.status)

    def copy(self) -> JobRow:
        """A row of its own (the detail pane merges fetched facts into it, not into the table's)."""
        return JobRow(self.manager, dataclasses.replace(self.job))

    @classmethod
    def from_update(cls, manager: str, update: JobUpdate) -> JobRow:
        job = Job(id=update.id, name=update.name or "", type=update.type, priority=update.priority,
                  status=update.status, activity="", created=update.created or update.updated,
                  updated=update.updated, steps_completed=update.steps_completed,
                  steps_total=update.steps_total, submitter_platform="")
        row = cls(manager, job)
        row.apply(update)
        return row

    def apply(self, update: JobUpdate) -> None:
        """Fold a job event into the row. Facts an event leaves out (None) are kept, except the
        pending deletion, which every event states (absent: none is pending)."""
        job = self.job
        job.updated, job.status, job.type, job.priority = update.updated, update.status, update.type, update.priority
        job.steps_completed, job.steps_total = update.steps_completed, update.steps_total
        job.delete_requested_at = update.delete_requested_at
        for name in _KEPT_UNLESS_SENT:
            value = getattr(update, name)
            if value is not None:
                setattr(job, name, value)


#: `JobUpdate` fields that only some events carry (the first event, or when the Manager has them at hand).
_KEPT_UNLESS_SENT = ("name", "activity", "created", "worker_tag", "metadata", "settings", "submitter_platform",
                     "waiting_on", "site")


@dataclass(frozen=True, slots=True)
class JobDelta:
    """A job event as the table applies it: the event and the Manager it came from."""

    manager: str
    update: JobUpdate

    @property
    def key(self) -> str:
        return f"{self.manager}/{self.update.id}"


def job_field(row: JobRow, name: str) -> object:
    """A field of the row's job by name, or `manager` (the filter proxy searches and filters by field names)."""
    return row.manager if name == "manager" else getattr(row.job, name, None)
