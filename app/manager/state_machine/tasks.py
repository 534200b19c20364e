"""The task and job status machine.

Every transition persists, writes a line to the affected task's log showing old → new, broadcasts
an event carrying the previous status, and re-derives the job status. The functions here are
synchronous and run on the store thread inside one transaction; the store thread serialises all
writes, so it is this machine's lock. `Effects` carries the events and log lines out afterwards.
"""

from __future__ import annotations

import datetime as dt
import logging

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.api.events import JOB_DID_CHANGE
from app.manager.persistence import blocklist, jobs, tasks
from app.manager.persistence.models import Job, Task, Worker
from app.manager.state_machine import job_waits
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.statuses import JOB_FAIL_TASK_PERCENTAGE, TASK_RUNNABLE_OR_RUNNING

_log = logging.getLogger(__name__)
NOT_COMPLETED = tuple(s.value for s in T if s != T.COMPLETED)  # statuses of a task still to finish


def change_task_status(
    fx: Effects, task: Task, job: Job, new: T, now: dt.datetime,
    activity: str | None = None, reason: str = "", worker: Worker | None = None,
    extra_fields: dict | None = None, completion: tuple[bool, bool] | None = None,
) -> None:
    """Change one task's status and let its job follow. `extra_fields` go in the same UPDATE.

    `completion`: `tasks.completed`'s answer for this task when it was already asked along with the
    task's read (`tasks.fetch_task_completing`), for a change from active to completed."""
    old = task.status
    fields: dict = {**(extra_fields or {}), "status": new.value, "updated_at": now}
    if activity is not None:
        fields["activity"] = task.activity = activity
    if new == T.QUEUED:
        fields["steps_completed"] = 0
    elif new == T.COMPLETED:
        fields["steps_completed"] = task.steps_total
    steps_moved = _adjust_job_steps(job, task, fields.get("steps_completed"), now)
    events_before = len(fx.events)
    tasks.update_task(task.id, **fields)
    unblocked = False  # whether this completion counts down other tasks' dependencies
    job_left: bool | None = None  # whether the job has tasks not completed, when read along (PostgreSQL)
    if old != new.value and new == T.COMPLETED:
        unblocked, job_left = completion or tasks.completed(task.id, job.id, NOT_COMPLETED)
    elif old != new.value and old == T.COMPLETED.value:
        tasks.completion_changed(task.id, completed=False)
    task.status, task.updated_at = new.value, now
    if "steps_completed" in fields:
        task.steps_completed = fields["steps_completed"]
    if old != new:
        suffix = f": {reason}" if reason else ""
        fx.log(job.uuid, task.uuid, f"task changed status {old} -> {new.value}{suffix}")
    fx.task_changed(task, job, old, worker)
    if new in (T.QUEUED, T.SOFT_FAILED) or unblocked:
        # A retry, or dependencies that may now be met. A completion with no dependents makes no
        # work runnable: waking waiting workers for it cost a matching pass per completed task.
        fx.work_available = True
    if old != new:
        _job_follows_task(fx, job, task, new, now, job_left)
    if steps_moved and not _job_event_since(fx, events_before, job.uuid):
        fx.job_changed(job, None)  # its progress and `updated` moved, its status did not


def _adjust_job_steps(job: Job, task: Task, new_steps: int | None, now: dt.datetime) -> bool:
    """Keep the job's step count in step with one task's; True when it changed."""
    if new_steps is None or new_steps == task.steps_completed:
        return False
    job.steps_completed = max(0, job.steps_completed + new_steps - task.steps_completed)
    job.updated_at = now
    jobs.update_job(job.id, steps_completed=job.steps_completed, updated_at=now)
    return True


def _job_event_since(fx: Effects, start: int, job_uuid: str) -> bool:
    return any(topic == JOB_DID_CHANGE and data.get("id") == job_uuid for topic, data in fx.events[start:])


def _job_follows_task(fx: Effects, job: Job, task: Task, new: T, now: dt.datetime,
                      job_left: bool | None = None) -> None:
    """The job's status after one of its tasks became `new`; `job_left`: whether the job has tasks not
    completed, when already read along with a completion."""
    status = J(job.status)
    match new:
        case T.QUEUED:
            if status in (J.COMPLETED, J.FAILED, J.CANCELED):
                _set_job_status(fx, job, J.QUEUED, now, f"task {task.name} was requeued")
        case T.ACTIVE | T.SOFT_FAILED:
            if status == J.PAUSE_REQUESTED:
                _maybe_finish_pausing(fx, job, now)
            elif status not in (J.ACTIVE, J.CANCEL_REQUESTED):
                _set_job_status(fx, job, J.ACTIVE, now, f"task {task.name} became {new.value}")
        case T.COMPLETED:
            if not (jobs.has_tasks_in(job.id, NOT_COMPLETED) if job_left is None else job_left):
                _set_job_status(fx, job, J.COMPLETED, now, "all tasks completed")
            else:
                _after_task_finished(fx, job, now)
        case T.FAILED:
            failed, total = jobs.count_tasks(job.id, T.FAILED), jobs.count_tasks(job.id)
            if failed * 100 >= JOB_FAIL_TASK_PERCENTAGE * total:
                pct = failed * 100 // max(total, 1)
                change_job_status(fx, job, J.FAILED, now, f"{pct}% of the tasks failed")
            else:
                _after_task_finished(fx, job, now)
        case T.CANCELED:
            if not jobs.has_tasks_in(job.id, TASK_RUNNABLE_OR_RUNNING):
                if status not in (J.CANCELED, J.FAILED, J.COMPLETED):
                    _set_job_status(fx, job, J.CANCELED, now, "no tasks left to run")
            else:
                _maybe_finish_pausing(fx, job, now)
        case T.PAUSED:
            _maybe_finish_pausing(fx, job, now)


def _after_task_finished(fx: Effects, job: Job, now: dt.datetime) -> None:
    if job.status == J.PAUSE_REQUESTED:
        _maybe_finish_pausing(fx, job, now)
    elif job.status == J.QUEUED:
        _set_job_status(fx, job, J.ACTIVE, now, "a task finished")


def _maybe_finish_pausing(fx: Effects, job: Job, now: dt.datetime) -> None:
    if job.status == J.PAUSE_REQUESTED and not jobs.has_tasks_in(job.id, (T.ACTIVE,)):
        _set_job_status(fx, job, J.PAUSED, now, "no more tasks running")


def _set_job_status(fx: Effects, job: Job, new: J, now: dt.datetime, reason: str,
                    refresh_tasks: bool = False) -> None:
    """Change only the job's own status (no task cascade)."""
    old = job.status
    if old == new:
        return
    job.status, job.updated_at = new.value, now
    job.activity = job_waits.activity(job, f'Changed to status "{new.value}": {reason}')
    jobs.update_job(job.id, status=job.status, activity=job.activity, updated_at=now)
    fx.job_changed(job, old, refresh_tasks)
    _log.info("job %s changed status %s -> %s: %s", job.uuid, old, new.value, reason)
    job_waits.status_changed(fx, job, old, now, change_job_status)


def change_job_status(fx: Effects, job: Job, new: J, now: dt.datetime, reason: str,
                      from_api: bool = False) -> None:
    """Change a job's status and carry out what that means for its tasks."""
    old = J(job.status)
    _set_job_status(fx, job, new, now, reason, refresh_tasks=True)
    match new:
        case J.CANCEL_REQUESTED:
            _bulk_tasks(fx, job, TASK_RUNNABLE_OR_RUNNING, T.CANCELED, now, "job was canceled")
            _set_job_status(fx, job, J.CANCELED, now, reason, refresh_tasks=True)
        case J.FAILED:
            _bulk_tasks(fx, job, TASK_RUNNABLE_OR_RUNNING, T.CANCELED, now, "job failed")
        case J.PAUSE_REQUESTED:
            _bulk_tasks(fx, job, (T.QUEUED.value, T.SOFT_FAILED.value), T.PAUSED, now, "job is pausing")
            _maybe_finish_pausing(fx, job, now)
        case J.REQUEUEING:
            _requeue_job(fx, job, old, now, from_api)
            _set_job_status(fx, job, J.QUEUED, now, reason, refresh_tasks=True)
        case J.QUEUED:
            if old == J.PAUSED:
                _bulk_tasks(fx, job, (T.PAUSED.value,), T.QUEUED, now, "job was resumed")
            if jobs.count_tasks(job.id) and not jobs.has_tasks_in(job.id, NOT_COMPLETED):
                _set_job_status(fx, job, J.COMPLETED, now, "all tasks completed")
        case _:
            pass


def _requeue_job(fx: Effects, job: Job, old: J, now: dt.datetime, from_api: bool) -> None:
    if old == J.COMPLETED:
        _bulk_tasks(fx, job, None, T.QUEUED, now, "job was requeued", reset_steps=True)
    else:
        statuses = (T.CANCELED.value, T.FAILED.value, T.PAUSED.value, T.SOFT_FAILED.value)
        _bulk_tasks(fx, job, statuses, T.QUEUED, now, "job was requeued", reset_steps=True)
    job.steps_completed = jobs.steps_completed(job.id)
    jobs.update_job(job.id, steps_completed=job.steps_completed)
    if from_api:
        tasks.clear_job_failures(job.id)
        blocklist.clear(job.id)


def _bulk_tasks(fx: Effects, job: Job, from_statuses, to: T, now: dt.datetime, reason: str,
                reset_steps: bool = False) -> None:
    changed = tasks.set_tasks_status(job.id, from_statuses, to.value, now, reset_steps=reset_steps)
    for task_id, task_uuid, previous in changed:
        fx.log(job.uuid, task_uuid, f"task changed status {previous} -> {to.value}: {reason}")
        fx.watched_tasks.add(task_uuid)
        if previous == T.ACTIVE.value:
            # The job's event says "refresh its tasks"; a task a worker was running also says so
            # itself, for the dashboards that show it on that worker. Few: one per busy worker.
            task = tasks.fetch_task_by_id(task_id)
            fx.task_changed(task, job, previous, task.__rel__.get("worker") if task.worker_id else None)
    if changed and to in (T.QUEUED, T.SOFT_FAILED):
        fx.work_available = True


def requeue_task_and_dependents(fx: Effects, task: Task, job: Job, now: dt.datetime, reason: str) -> None:
    """Requeue one task and every task that depends on it (a re-render invalidates their output)."""
    tasks.clear_failures([task.id])
    change_task_status(fx, task, job, T.QUEUED, now, activity=f"Requeued: {reason}", reason=reason)
    for dep_id in tasks.dependents_of([task.id]):
        dep = tasks.fetch_task_by_id(dep_id)
        if dep.status in (T.COMPLETED, T.FAILED, T.CANCELED):
            change_task_status(fx, dep, job, T.QUEUED, now, activity="Requeued: a dependency was requeued",
                               reason=f"depends on {task.name}")


def return_worker_tasks(fx: Effects, worker: Worker, now: dt.datetime, reason: str) -> None:
    """Give back the active tasks of a worker that went away (sign-off, timeout, deletion)."""
    for task in tasks.active_tasks_of_worker(worker.id):
        job = task.job
        target = T.PAUSED if job.status in (J.PAUSE_REQUESTED, J.PAUSED) else T.QUEUED
        activity = f"Task was {target.value} by Manager because {reason}"
        change_task_status(fx, task, job, target, now, activity=activity, reason=reason)


def unstick_jobs(fx: Effects, now: dt.datetime) -> None:
    """At start-up, re-apply transitional job statuses a crash may have left half done."""
    for job in jobs.jobs_by_status([J.CANCEL_REQUESTED, J.REQUEUEING, J.PAUSE_REQUESTED]):
        status = J(job.status)
        job.status = J.ACTIVE.value if status != J.REQUEUEING else J.PAUSED.value
        change_job_status(fx, job, status, now, "re-applied after a Manager restart")
