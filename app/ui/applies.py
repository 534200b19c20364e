"""Which dashboard action applies to which row: the menus offer an action only where it does.

A job's status actions follow the Manager's own table of what a user may request from which
status (`JOB_REQUESTABLE`), so the dashboard never offers what the Manager would refuse; a job
whose deletion is under way takes no more changes; opening or copying the output folder needs a job
whose settings name one. Worker requests are offered where they change
something. Pure functions of the rows (`JobRow`, `WorkerRow`).
"""

from __future__ import annotations

from app.api.enums import JobStatus as J
from app.manager.state_machine.statuses import JOB_REQUESTABLE
from app.submit.policy import output_of
from app.ui.models.job_row import JobRow
from app.ui.models.worker_row import WorkerRow

#: Job action → the status it requests (the Manager's words).
JOB_STATUS_ACTIONS = {
    "pause": J.PAUSE_REQUESTED, "resume": J.QUEUED, "cancel": J.CANCEL_REQUESTED, "requeue": J.REQUEUEING,
}
#: Statuses of a job that may have failed tasks to requeue (a completed job has none).
HAS_FAILED_TASKS = frozenset({"active", "queued", "paused", "failed", "canceled"})


def job_action_applies(action: str, row: JobRow) -> bool:
    """Whether `action` (a key of the jobs view's actions) applies to the job `row`."""
    status = row.status
    deleting = bool(row.job.delete_requested_at)
    if action in JOB_STATUS_ACTIONS:
        return not deleting and status in {s.value for s in JOB_REQUESTABLE[JOB_STATUS_ACTIONS[action]]}
    if action == "requeue_failed":
        return not deleting and status in HAS_FAILED_TASKS
    if action in ("priority", "tag", "delete"):
        return not deleting
    if action in ("open_output", "copy_output"):
        return bool(output_of(row.job.settings or {}))
    return action in ("resubmit", "duplicate")


def worker_action_applies(action: str, row: WorkerRow) -> bool:
    """Whether a worker action applies: asking for a status the worker is in (with nothing else asked
    of it) changes nothing; restart needs a worker that can restart itself."""
    status = row.status
    change = row.worker.status_change
    asked = str(change.status) if change is not None else ""
    wanted = {"wake": "awake", "sleep_lazy": "asleep", "sleep_now": "asleep", "restart_lazy": "restart",
              "restart_now": "restart", "shutdown_lazy": "offline", "shutdown_now": "offline"}.get(action)
    if wanted is None:
        return action in ("schedule", "tags", "delete")
    if wanted == "restart" and not row.worker.can_restart:
        return False
    if wanted == "offline" and status == "offline" and not asked:
        return False
    return status != wanted or bool(asked and asked != wanted)
