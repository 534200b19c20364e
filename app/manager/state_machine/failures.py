"""What happens when a worker reports a task as failed: soft failure, retries, blocklist, job failure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import blocklist, tasks
from app.manager.persistence.models import Job, Task, Worker
from app.manager.scheduling import preview_first
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.tasks import change_job_status, change_task_status


@dataclass(frozen=True)
class FailurePolicy:
    blocklist_threshold: int = 3
    task_fail_after_softfail_count: int = 3


def task_failed_by_worker(fx: Effects, task: Task, job: Job, worker: Worker, now: dt.datetime,
                          activity: str, policy: FailurePolicy) -> None:
    """Decide between soft and hard failure after `worker` failed `task`."""
    _decide_failure(fx, task, job, worker, now, activity, policy)
    if job.status not in (J.FAILED, J.CANCELED):
        preview_first.preview_failed(fx, task, job, now)


def _decide_failure(fx: Effects, task: Task, job: Job, worker: Worker, now: dt.datetime,
                    activity: str, policy: FailurePolicy) -> None:
    num_failed = tasks.add_failure(task.id, worker.id, now)
    if _maybe_blocklist(fx, task, job, worker, now, policy):
        return  # the job failed: nobody is left to run this task type
    if num_failed >= policy.task_fail_after_softfail_count:
        reason = f"task failed by {num_failed} workers, marking it as failed"
        change_task_status(fx, task, job, T.FAILED, now, activity=activity, reason=reason, worker=worker)
        return
    left = blocklist.workers_left_to_run(job, task.type, task.id)
    if left == 0:
        reason = "no worker is left that could retry this task"
        change_task_status(fx, task, job, T.FAILED, now, activity=activity, reason=reason, worker=worker)
        if job.status not in (J.FAILED, J.CANCELED):
            change_job_status(fx, job, J.FAILED, now, f"no worker left to run task {task.name!r}")
        return
    more = policy.task_fail_after_softfail_count - num_failed
    reason = f"soft failure; {more} more failure(s) by other workers will fail the task"
    change_task_status(fx, task, job, T.SOFT_FAILED, now, activity=activity, reason=reason, worker=worker)


def _maybe_blocklist(fx: Effects, task: Task, job: Job, worker: Worker, now: dt.datetime,
                     policy: FailurePolicy) -> bool:
    """Blocklist the worker for this job and task type after too many failures. True = job failed."""
    if policy.blocklist_threshold <= 0:
        return False
    count = tasks.count_worker_failures_in_job(job.id, worker.id, task.type)
    if count < policy.blocklist_threshold:
        return False
    blocklist.add(job.id, worker.id, task.type, now)
    fx.log(job.uuid, task.uuid,
           f"worker {worker.name} failed {count} {task.type!r} tasks of this job and is now blocklisted for them")
    if blocklist.workers_left_to_run(job, task.type) == 0:
        change_task_status(fx, task, job, T.FAILED, now, activity="Failed: no workers left",
                           reason="every worker that could run it is blocklisted", worker=worker)
        if job.status not in (J.FAILED, J.CANCELED):
            change_job_status(fx, job, J.FAILED, now,
                              f"no worker left that may run {task.type!r} tasks of this job")
        return True
    # Tasks this worker hard-failed may well succeed elsewhere: give them another chance.
    for failed in tasks.failed_tasks_of_worker_in_job(job.id, worker.id, task.type):
        if failed.status == T.FAILED and failed.id != task.id:
            change_task_status(fx, failed, job, T.QUEUED, now, activity="Requeued after blocklisting",
                               reason=f"worker {worker.name} was blocklisted")
    return False
