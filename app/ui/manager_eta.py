"""`EtaBook`: the Manager's ETA of each unfinished job, the figure the dashboard shows.

The Manager works the ETA out (`app.manager.jobs.job_eta`) from the farm's finished tasks and its
workers' measured speed, and the status page, `farm status` and the Blender add-on show the same
figure; the dashboard reads every Manager's answer (`GET /api/v3/tablao/jobs/eta`) every few
seconds and counts down to the times it gave. A Manager without that route (an older one) keeps
the dashboard's own estimate (`app.ui.job_pace`): `of` says None for its jobs.

Pure Python, no Qt: the dashboard feeds it the answers and the tables ask it on every paint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.api.jobs import Job, JobEtas
from app.ui.models.formats import FINISHED, duration, eta_words, now, parse_time, remaining_steps

_SOURCES = {"job": "of this job", "file": "of earlier jobs of this .blend file",
            "type": "of earlier jobs of this type"}


@dataclass(frozen=True, slots=True)
class ManagerEta:
    """The Manager's ETA of a job: its expected end, the ends of its range, and what it rests on."""

    at: datetime
    low: datetime
    high: datetime
    source: str
    basis: int
    workers: int


class EtaBook:
    """The latest ETA answer of each Manager, by the dashboard's job keys (Manager label / job id)."""

    def __init__(self) -> None:
        self._etas: dict[str, ManagerEta | str] = {}    # job key → ETA, or why there is none
        self._answered: set[str] = set()                 # labels of the Managers that gave ETAs
        self._asked: set[str] = set()                    # labels of the Managers not answered yet

    def asking(self, label: str) -> None:
        """A Manager was added: until it answers, its jobs show that the ETA is on its way (not the
        dashboard's own estimate, which would change a moment later)."""
        self._asked.add(label)

    def answered(self, label: str, answer: JobEtas | None) -> None:
        """A Manager's answer; None from a Manager without ETAs."""
        prefix = f"{label}/"
        self._asked.discard(label)
        for key in [k for k in self._etas if k.startswith(prefix)]:
            del self._etas[key]
        if answer is None:
            self._answered.discard(label)
            return
        self._answered.add(label)
        for job_id, eta in answer.jobs.items():
            at, low, high = parse_time(eta.at), parse_time(eta.low), parse_time(eta.high)
            if at is not None and low is not None and high is not None:
                self._etas[prefix + job_id] = ManagerEta(at, low, high, eta.source, eta.basis, len(eta.workers))
        for job_id, reason in answer.reasons.items():
            self._etas[prefix + job_id] = reason

    def forget(self, label: str) -> None:
        self.answered(label, None)
        self._asked.discard(label)

    def gives(self, label: str) -> bool | None:
        """Whether the Manager gives ETAs; None while its first answer is on its way."""
        if label in self._answered:
            return True
        return None if label in self._asked else False

    def of(self, label: str, job_id: str) -> ManagerEta | str | None:
        """The job's ETA or why it has none, from a Manager that gives ETAs; None from one that does not."""
        if label not in self._answered:
            return "asking the Manager for its ETA" if label in self._asked else None
        return self._etas.get(f"{label}/{job_id}", "the Manager has no ETA for it yet")


def manager_eta_words(job: Job, eta: ManagerEta | str, at: datetime | None = None) -> tuple[str, str]:
    """(text, tooltip) of a job's ETA from its Manager: "12 min (9 min – 16 min)", or why there is none."""
    status = job.status
    if status == "completed":
        return "done", "the job is completed"
    if status in FINISHED:
        return "—", f"the job is {status}"
    if status == "paused":
        return "paused", "no ETA while the job is paused"
    if isinstance(eta, str):
        return "—", eta
    moment = at or now()

    def left(when: datetime) -> float:
        return max(0.0, (when - moment).total_seconds())
    seconds, low, high = left(eta.at), left(eta.low), left(eta.high)
    basis = f"{eta.basis} finished task{'s' if eta.basis != 1 else ''} {_SOURCES.get(eta.source, '')}".strip()
    workers = f" and {eta.workers} worker{'s' if eta.workers != 1 else ''}" if eta.workers else ""
    return (f"{duration(seconds)} ({duration(low)} – {duration(high)})",
            f"about {duration(seconds)}, between {duration(low)} and {duration(high)}, from {basis}{workers}")


def job_eta_words(job: Job, known: Any) -> tuple[str, str]:
    """(text, tooltip) of a job's ETA: the Manager's (`known` a `ManagerEta` or why none), else the
    dashboard's own from a `Pace` (or None)."""
    if isinstance(known, (ManagerEta, str)):
        return manager_eta_words(job, known)
    return eta_words(job, known)


def eta_sort_key(job: Job, known: Any) -> float:
    """Seconds left by the job's ETA (infinite without one), for sorting the ETA column."""
    if job.status in FINISHED or known is None or isinstance(known, str):
        return float("inf")
    if isinstance(known, ManagerEta):
        return max(0.0, (known.at - now()).total_seconds())
    return remaining_steps(job) / known.per_s
