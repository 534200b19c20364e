"""Tablao: how the busy workers are shared among submitters (`GET /api/v3/tablao/fair-share`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.codec import Wire


@dataclass(slots=True)
class SubmitterShare(Wire):
    """One submitter of active or queued jobs: its weight and the tasks it runs now."""

    name: str  # "" for jobs that name no submitter
    weight: float
    running: int


@dataclass(slots=True)
class FairShare(Wire):
    """The scheduler policy (`priority` or `fair-share`), the job metadata key naming a job's
    submitter, the tasks running in active and queued jobs, and the submitters, busiest first."""

    policy: str
    share_by: str
    tasks_running: int
    submitters: list[SubmitterShare] = field(default_factory=list)
