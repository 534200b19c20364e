"""The one word a person sees for each state, in every view: tray, worker window, dashboard, status bar.

The words are the wire's own (Flamenco's statuses, `app.api.enums`), written for reading where
the wire's spelling is a code ("pause-requested" reads "pausing"). Two states exist only on a
worker's own computer and get a word here too: "rendering" (awake, running a task) and "offline"
when its Manager cannot be reached (the Manager will call it offline too, once it notices).

A view never spells a state itself: it asks `worker_word`, `job_word`, `task_word` or `farm_word`.
A status this table does not know is shown as the wire sends it, never hidden. No Qt here.
"""

from __future__ import annotations

from app.api.enums import FarmStatus, JobStatus, TaskStatus, WorkerStatus

#: A worker's status (the wire's `WorkerStatus`) in words.
WORKER_WORDS: dict[str, str] = {
    WorkerStatus.STARTING: "starting",
    WorkerStatus.AWAKE: "awake",
    WorkerStatus.ASLEEP: "asleep",
    WorkerStatus.ERROR: "error",
    WorkerStatus.TESTING: "testing",
    WorkerStatus.OFFLINE: "offline",
    WorkerStatus.RESTART: "restarting",
}
#: An awake worker that runs a task (the dashboard's worker row with an active task, the tray).
RENDERING = "rendering"

JOB_WORDS: dict[str, str] = {
    JobStatus.UNDER_CONSTRUCTION: "being set up",
    JobStatus.QUEUED: "queued",
    JobStatus.ACTIVE: "active",
    JobStatus.PAUSED: "paused",
    JobStatus.PAUSE_REQUESTED: "pausing",
    JobStatus.CANCEL_REQUESTED: "canceling",
    JobStatus.REQUEUEING: "requeueing",
    JobStatus.COMPLETED: "completed",
    JobStatus.CANCELED: "canceled",
    JobStatus.FAILED: "failed",
}

TASK_WORDS: dict[str, str] = {
    TaskStatus.QUEUED: "queued",
    TaskStatus.ACTIVE: "active",
    TaskStatus.COMPLETED: "completed",
    TaskStatus.SOFT_FAILED: "soft-failed",
    TaskStatus.FAILED: "failed",
    TaskStatus.CANCELED: "canceled",
    TaskStatus.PAUSED: "paused",
}

#: The farm as a whole (`GET /api/v3/status`), as the status bar and the Manager's tray say it.
FARM_WORDS: dict[str, str] = {
    FarmStatus.ACTIVE: "active",
    FarmStatus.IDLE: "idle",
    FarmStatus.WAITING: "waiting",
    FarmStatus.ASLEEP: "asleep",
    FarmStatus.INOPERATIVE: "no workers",
    FarmStatus.UNKNOWN: "unknown",
    FarmStatus.STARTING: "starting",
}


def worker_word(status: str, rendering: bool = False) -> str:
    """The word for a worker's wire status; "rendering" for an awake worker running a task."""
    if rendering and status == WorkerStatus.AWAKE:
        return RENDERING
    return WORKER_WORDS.get(status, status)


def worker_change_word(status: str, requested: str | None) -> str:
    """A worker's status with a requested change pending: "awake → asleep"."""
    now = worker_word(status)
    return f"{now} → {worker_word(requested)}" if requested and requested != status else now


def job_word(status: str) -> str:
    return JOB_WORDS.get(status, status)


def task_word(status: str) -> str:
    return TASK_WORDS.get(status, status)


def farm_word(status: str) -> str:
    return FARM_WORDS.get(status, status)


def headline(word: str) -> str:
    """The word as a heading starts: "Asleep"."""
    return word[:1].upper() + word[1:]
