"""The one word a person sees for a worker's state and the farm's, in the tray, the worker window and
the status bar.

The words are the wire's own (Flamenco's statuses, `app.api.enums`), written for reading where the
wire's spelling is a code ("restart" reads "restarting"). Two states exist only on a worker's own
computer and get a word here too: "rendering" (awake, running a task) and "offline" when its Manager
cannot be reached (the Manager will call it offline too, once it notices).

Those views never spell a state themselves: they ask `worker_word` or `farm_word`. The dashboard's
tables and the status page show a job's, task's and worker's status as the wire spells it, the words
a lead also reads in the API and the Manager's log. A status this table does not know is shown as the
wire sends it, never hidden. No Qt here.
"""

from __future__ import annotations

from app.api.enums import FarmStatus, WorkerStatus

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


def farm_word(status: str) -> str:
    return FARM_WORDS.get(status, status)


def headline(word: str) -> str:
    """The word as a heading starts: "Asleep"."""
    return word[:1].upper() + word[1:]
