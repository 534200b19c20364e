"""Tablao: what each finished task of a job measured (`GET /api/v3/tablao/jobs/{job_id}/task-stats`).

A worker sends Blender's render time and peak memory with a task's final status; the Manager keeps
them in the task's run. This answer gives each task's latest run: the job's task table shows them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.api.codec import Wire


@dataclass(slots=True)
class TaskRunStats(Wire):
    """A task's latest finished run: its outcome, the worker that ran it, the seconds from hand-out to
    the report, and what Blender printed (None where the worker read nothing: a task that is no render)."""

    task_id: str
    outcome: str  # "completed" or "failed"
    worker_id: str
    worker_name: str
    seconds: float
    finished: str
    render_time_s: float | None = None
    peak_memory_mb: float | None = None


@dataclass(slots=True)
class JobTaskStats(Wire):
    """The latest run of each task of a job that has finished at least once (in the job's task order
    of finishing); `truncated` when the job had more runs than one answer reads."""

    job_id: str
    tasks: list[TaskRunStats] = field(default_factory=list)
    truncated: bool = False
