"""`PaceBook`: how fast the farm gets through each job, for the ETA a lead plans with.

A job's own pace is the work (steps: a render task's frames) its tasks finished between the first
and the last finish, divided by that time: it counts every worker that helped, queueing and all.
Its range widens that pace both by how it varied over the job (windows of consecutive finishes,
their 10th and 90th percentiles) and by how few finishes it rests on (a count of n is uncertain
by about 1/sqrt(n)). A job with fewer than two finished tasks borrows the farm's history instead:
the pace (steps over the time from submission to completion) of the last completed jobs of the
same type. The status page in the browser estimates the same way (`web/page/eta.js`).

Pure Python, no Qt: the dashboard feeds it task and job changes and asks it for a `Pace`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from app.api.jobs import Job
from app.ui.models.formats import parse_time

MIN_FINISHES = 2          # a pace needs two finishes: it is measured between them
HISTORY_JOBS = 20         # completed jobs of a type the farm's history keeps
WINDOW_MAX = 20


@dataclass(frozen=True, slots=True)
class Pace:
    """Steps per second: the estimate, and the fast and slow ends of its range.

    `basis` counts what it rests on: finished tasks of the job (`source` "job"), or completed jobs
    of its type (`source` "farm")."""

    per_s: float
    fast: float
    slow: float
    basis: int
    source: str


def _percentile(values: list[float], p: float) -> float:
    at = min(len(values) - 1, max(0, round(p * (len(values) - 1))))
    return values[at]


def _widened(overall: float, paces: list[float], n: int, source: str) -> Pace:
    paces = sorted(p for p in paces if p > 0)
    spread = 1 / math.sqrt(n)
    fast = max(_percentile(paces, 0.9) if paces else overall, overall * (1 + spread))
    slow = min(_percentile(paces, 0.1) if paces else overall, overall * max(0.1, 1 - spread))
    return Pace(overall, fast, slow, n, source)


def pace_of_finishes(finishes: Iterable[tuple[float, int]]) -> Pace | None:
    """The pace of a job from its finished tasks, `(finish time in s, steps)`; None before two."""
    done = sorted(finishes)
    n = len(done)
    if n < MIN_FINISHES:
        return None

    def window(first: int, last: int) -> float:
        span = done[last][0] - done[first][0]
        return sum(s for _, s in done[first + 1:last + 1]) / span if span > 0 else float("nan")

    overall = window(0, n - 1)
    if not overall > 0:
        return None
    size = min(WINDOW_MAX, max(2, round(n / 3)))
    paces = [window(i, i + size - 1) for i in range(0, n - size + 1)]
    return _widened(overall, [p for p in paces if p > 0], n, "job")


def pace_of_history(paces: list[float]) -> Pace | None:
    """The farm's pace for a job type from its last completed jobs' paces (steps per second)."""
    paces = [p for p in paces if p > 0]
    if not paces:
        return None
    ordered = sorted(paces)
    return _widened(_percentile(ordered, 0.5), ordered, len(ordered), "farm")


class TaskFacts(Protocol):
    """What a task's pace needs: a `TaskUpdate`, a `TaskSummary`, or `task_facts` of a list's JSON."""

    @property
    def id(self) -> str: ...
    @property
    def updated(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def steps_total(self) -> int: ...


class TaskJson(NamedTuple):
    id: str
    updated: str
    status: str
    steps_total: int


def task_facts(task: dict[str, Any]) -> TaskJson:
    """The facts of a task in a task list's JSON (read without decoding the list, for speed)."""
    return TaskJson(str(task.get("id", "")), str(task.get("updated") or ""), str(task.get("status") or ""),
                    int(task.get("steps_total") or 0))


class PaceBook:
    """Finished tasks per job and completed jobs per type; `pace(job key, job)` for the ETA.

    Keys are the dashboard's job keys (Manager label / job id), so two Managers never mix. What a
    task list read says and what task events say are merged newest first (a list read while an
    event was on its way never takes a finish back). Answers are cached until what they rest on
    changes: the ETA column asks on every paint.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget everything known (a new set of Managers)."""
        self._tasks: dict[str, dict[str, tuple[float, bool, int]]] = {}  # job → task → (updated, done, steps)
        self._job_paces: dict[str, Pace | None] = {}
        self._history: dict[str, dict[str, tuple[float, float]]] = {}  # type → job key → (completed at, pace)
        self._history_paces: dict[str, Pace | None] = {}
        self.loaded: set[str] = set()   # jobs whose whole task list was read (not only events)

    # --- tasks ------------------------------------------------------------------------------------
    def task_changed(self, job_key: str, task: TaskFacts) -> bool:
        """A task's new state; True when the job's finishes changed."""
        when = parse_time(task.updated)
        if when is None:
            return False
        tasks = self._tasks.setdefault(job_key, {})
        known = tasks.get(task.id)
        if known is not None and known[0] > when.timestamp():
            return False  # older than what is known
        steps = max(1, task.steps_total)
        entry = (when.timestamp(), task.status == "completed", steps)
        tasks[task.id] = entry
        if known == entry or not (entry[1] or (known is not None and known[1])):
            return False
        self._job_paces.pop(job_key, None)
        return True

    def tasks_loaded(self, job_key: str, tasks: Iterable[TaskFacts]) -> None:
        """The job's whole task list was read."""
        for task in tasks:
            self.task_changed(job_key, task)
        self._job_paces.pop(job_key, None)
        self.loaded.add(job_key)

    def tasks_stale(self, job_key: str) -> None:
        """Many of the job's tasks changed at once (no event for each): forget what is known of them."""
        self._tasks.pop(job_key, None)
        self._job_paces.pop(job_key, None)
        self.loaded.discard(job_key)

    def forget(self, job_key: str) -> None:
        self.tasks_stale(job_key)
        for job_type, jobs in self._history.items():
            if jobs.pop(job_key, None) is not None:
                self._history_paces.pop(job_type, None)

    # --- jobs -------------------------------------------------------------------------------------
    def job_changed(self, job_key: str, job: Job) -> None:
        """A job's new state: a completed job joins its type's history, any other leaves it."""
        job_type = job.type
        jobs = self._history.setdefault(job_type, {})
        entry = _completed_pace(job) if job.status == "completed" else None
        if entry is None:
            if jobs.pop(job_key, None) is not None:
                self._history_paces.pop(job_type, None)
            return
        if jobs.get(job_key) != entry:
            jobs[job_key] = entry
            if len(jobs) > HISTORY_JOBS:
                del jobs[min(jobs, key=lambda k: jobs[k][0])]
            self._history_paces.pop(job_type, None)

    # --- answers ------------------------------------------------------------------------------------
    def pace(self, job_key: str, job: Job) -> Pace | None:
        """The job's own pace, else its type's on this farm, else None."""
        if job_key not in self._job_paces:
            tasks = (self._tasks.get(job_key) or {}).values()
            self._job_paces[job_key] = pace_of_finishes((t, steps) for t, done, steps in tasks if done)
        own = self._job_paces[job_key]
        if own is not None:
            return own
        job_type = job.type
        if job_type not in self._history_paces:
            jobs = self._history.get(job_type) or {}
            self._history_paces[job_type] = pace_of_history([p for _, p in jobs.values()])
        return self._history_paces[job_type]

    def finished_count(self, job_key: str) -> int:
        return sum(1 for _, done, _ in (self._tasks.get(job_key) or {}).values() if done)


def _completed_pace(job: Job) -> tuple[float, float] | None:
    created, updated = parse_time(job.created), parse_time(job.updated)
    steps = job.steps_total
    if created is None or updated is None or steps <= 0:
        return None
    seconds = (updated - created).total_seconds()
    return (updated.timestamp(), steps / seconds) if seconds > 0 else None
