"""Policy tables: which status changes users may ask for, and what counts as finished."""

from __future__ import annotations

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.api.enums import WorkerStatus as W

#: Job status a user may request through the API → the statuses it may be requested from.
JOB_REQUESTABLE: dict[J, frozenset[J]] = {
    J.CANCEL_REQUESTED: frozenset({J.ACTIVE, J.FAILED, J.PAUSED, J.PAUSE_REQUESTED, J.QUEUED}),
    J.PAUSE_REQUESTED: frozenset({J.ACTIVE, J.QUEUED}),
    J.REQUEUEING: frozenset({J.CANCELED, J.COMPLETED, J.FAILED, J.PAUSED}),
    J.QUEUED: frozenset({J.PAUSED}),  # resume a paused job without re-running failed tasks
}

#: Task status a user may request → the statuses it may be requested from.
TASK_REQUESTABLE: dict[T, frozenset[T]] = {
    T.CANCELED: frozenset({T.ACTIVE, T.QUEUED, T.SOFT_FAILED}),
    T.QUEUED: frozenset({T.CANCELED, T.COMPLETED, T.FAILED, T.SOFT_FAILED}),
}

#: Worker statuses a user may ask a worker to go to.
WORKER_REQUESTABLE = (W.AWAKE, W.ASLEEP, W.OFFLINE, W.RESTART)

#: Statuses a worker may report for its own task.
WORKER_REPORTABLE = frozenset({T.ACTIVE, T.COMPLETED, T.FAILED})

JOB_FINISHED = frozenset({J.COMPLETED, J.CANCELED, J.FAILED})
JOB_UNFINISHED = tuple(s.value for s in J if s not in JOB_FINISHED)
TASK_RUNNABLE_OR_RUNNING = (T.ACTIVE.value, T.QUEUED.value, T.SOFT_FAILED.value)

#: A job fails when at least this percentage of its tasks failed.
JOB_FAIL_TASK_PERCENTAGE = 10


def describe_allowed(table: dict, target) -> str:
    sources = table.get(target)
    if not sources:
        allowed = ", ".join(sorted(s.value for s in table))
        return f"only these can be requested: {allowed}"
    return "allowed from: " + ", ".join(sorted(s.value for s in sources))
