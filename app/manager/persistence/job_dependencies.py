"""Queries on jobs that wait for jobs: storing a job's dependencies, counting them down, the chain.

A job's `waiting_on` is how many of the jobs it waits for are not completed; each of its tasks carries
the same count inside `deps_left`, so the scheduler's partial index (`deps_left = 0`) leaves every task
of a waiting job out. A dependency that completes (or stops being completed) moves the count of all
its dependants, and of all their tasks, in one UPDATE each.

Run inside a Store's transaction, on that Store's database (`models.current_db()`).
"""

from __future__ import annotations

from collections.abc import Sequence

from app.api.enums import JobStatus
from app.manager.persistence.models import Job, JobDependency, current_db, tuples

_DEPENDANTS = "SELECT job_id FROM job_dependencies WHERE dependency_id = {p}"
_SHIFT_JOBS = f"UPDATE jobs SET waiting_on = waiting_on + {{p}} WHERE id IN ({_DEPENDANTS})"
_SHIFT_TASKS = f"UPDATE tasks SET deps_left = deps_left + {{p}} WHERE job_id IN ({_DEPENDANTS})"
_SHIFT_ONE_JOB = "UPDATE tasks SET deps_left = deps_left + {p} WHERE job_id = {p}"


def jobs_by_uuid(uuids: Sequence[str]) -> dict[str, Job]:
    """The jobs of these uuids that exist (a missing one is simply not in the answer)."""
    found: dict[str, Job] = {}
    for start in range(0, len(uuids), 900):
        for job in Job.select().where(Job.uuid.in_(list(uuids[start:start + 900]))):
            found[job.uuid] = job
    return found


def store_dependencies(job: Job, dependencies: Sequence[Job], on_failure: str) -> int:
    """Record that `job` (just stored, its tasks too) waits for `dependencies`; return how many of them
    are not completed, which its tasks now count in `deps_left`."""
    if not dependencies:
        return 0
    replace_dependencies(job, dependencies, on_failure)
    return job.waiting_on


def replace_dependencies(job: Job, dependencies: Sequence[Job], on_failure: str) -> None:
    """Make `job` wait for `dependencies` instead of what it waited for; its tasks' counts follow."""
    JobDependency.delete().where(JobDependency.job == job.id).execute()
    before = job.waiting_on
    job.waiting_on = 0
    if dependencies:
        JobDependency.insert_many([(job.id, d.id) for d in dependencies],
                                  fields=[JobDependency.job, JobDependency.dependency]).execute()
        job.waiting_on = sum(1 for d in dependencies if d.status != JobStatus.COMPLETED.value)
    job.on_dependency_failure = on_failure
    Job.update(waiting_on=job.waiting_on, on_dependency_failure=on_failure).where(Job.id == job.id).execute()
    if job.waiting_on != before:
        db = current_db()
        db.execute_sql(_SHIFT_ONE_JOB.format(p=db.param), [job.waiting_on - before, job.id])


def completion_changed(job_id: int, completed: bool) -> list[int]:
    """A job became completed (or stopped being so): its dependants wait for one job less (more).

    One UPDATE for the dependants' counts, one for all their tasks, whatever their number; returns the
    dependants' ids.
    """
    dependants = dependant_ids(job_id)
    if dependants:
        db = current_db()
        step = -1 if completed else 1
        db.execute_sql(_SHIFT_JOBS.format(p=db.param), [step, job_id])
        db.execute_sql(_SHIFT_TASKS.format(p=db.param), [step, job_id])
    return dependants


def dependant_ids(job_id: int) -> list[int]:
    """The jobs that wait for this one."""
    rows = JobDependency.select(JobDependency.job).where(JobDependency.dependency == job_id)
    return sorted(j for (j,) in tuples(rows))


def dependencies_of(job_id: int) -> list[Job]:
    """The jobs this one waits for, oldest first."""
    return list(Job.select().join(JobDependency, on=(JobDependency.dependency == Job.id))
                .where(JobDependency.job == job_id).order_by(Job.id))


def dependants_of(job_id: int) -> list[Job]:
    """The jobs that wait for this one, oldest first."""
    return list(Job.select().join(JobDependency, on=(JobDependency.job == Job.id))
                .where(JobDependency.dependency == job_id).order_by(Job.id))


def wait_path(starts: Sequence[int], target_id: int) -> list[Job]:
    """The jobs from one of `starts` through what each waits for to `target_id` (both ends included),
    or [] when none of them waits, directly or through others, for it.

    One query per step of the chain, however many jobs that step holds; each job is visited once.
    """
    parents: dict[int, int | None] = dict.fromkeys(starts)
    frontier = list(parents)
    while frontier and target_id not in parents:
        step: list[int] = []
        for start in range(0, len(frontier), 900):
            rows = (JobDependency.select(JobDependency.job, JobDependency.dependency)
                    .where(JobDependency.job.in_(frontier[start:start + 900])))
            for waiter, waited in tuples(rows):
                if waited not in parents:
                    parents[waited] = waiter
                    step.append(waited)
        frontier = step
    if target_id not in parents:
        return []
    ids: list[int] = []
    at: int | None = target_id
    while at is not None:
        ids.append(at)
        at = parents[at]
    by_id = {j.id: j for j in Job.select().where(Job.id.in_(ids))}
    return [by_id[i] for i in reversed(ids)]


def forget_dependency(job: Job) -> list[int]:
    """`job` is going away: its dependants stop waiting for it. Returns the dependants that still counted
    it (it was not completed), whose counts (and their tasks') went down by one."""
    counted: list[int] = []
    if job.status != JobStatus.COMPLETED.value:
        counted = completion_changed(job.id, completed=True)
    JobDependency.delete().where(JobDependency.dependency == job.id).execute()
    return counted
