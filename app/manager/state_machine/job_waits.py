"""Jobs that wait for jobs: what a job's status change means for the jobs waiting on it.

A job submitted with `depends_on` stays `queued` (its wire status stays one Flamenco's clients know)
while any job it waits for is not completed: its `waiting_on` counts those, its tasks carry the count
in `deps_left` so the scheduler never sees them, and its activity says "Waiting for <names>".

- A dependency completes: its dependants count one less, in one UPDATE for them and one for their
  tasks; a dependant at zero can run, so waiting workers are woken.
- A dependency stops being completed (requeued): its dependants count one more; their queued tasks
  wait again (tasks already running finish).
- A dependency fails or is canceled: a dependant with `on_dependency_failure = fail` fails, saying
  why; one with `wait` (the default) keeps waiting and says which job failed, so a requeue of that
  job lets the chain go on.
- A dependency is deleted: it can never complete, so its unfinished dependants fail, saying so;
  requeueing such a dependant runs it without the deleted job. A completed dependency's deletion
  changes nothing for its dependants.

Synchronous, inside the caller's store transaction, like the rest of the status machine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.api.enums import JobStatus as J
from app.api.errors import BadRequest
from app.manager.persistence import job_dependencies, jobs
from app.manager.persistence.models import Job
from app.manager.state_machine.effects import Effects

_FINISHED = (J.COMPLETED.value, J.FAILED.value, J.CANCELED.value)
_BROKEN = (J.FAILED.value, J.CANCELED.value)

#: `tasks.change_job_status`, handed in by the caller (that module calls this one).
FailJob = Callable[[Effects, Job, J, dt.datetime, str], None]


@dataclass(frozen=True, slots=True)
class JobWaits:
    """What a submission asks for: the ids of the jobs to wait for, and what to do if one fails."""

    depends_on: tuple[str, ...] = ()
    on_failure: str = "wait"


def waits_of(depends_on: Sequence[str] | None, on_failure: str | None) -> JobWaits:
    """A submission's `depends_on` and `on_dependency_failure`, duplicates dropped (order kept)."""
    return JobWaits(tuple(dict.fromkeys(depends_on or ())), on_failure or "wait")


def find_dependencies(waits: JobWaits) -> list[Job]:
    """The jobs `waits` names, or a BadRequest naming the ones this Manager does not have."""
    if not waits.depends_on:
        return []
    found = job_dependencies.jobs_by_uuid(waits.depends_on)
    unknown = [ref for ref in waits.depends_on if ref not in found]
    if unknown:
        raise BadRequest(f"`depends_on` names {_count(len(unknown), 'job')} this Manager does not have: "
                         f"{', '.join(_clip(u) for u in unknown[:5])}{' ...' if len(unknown) > 5 else ''}; "
                         "give the ids of jobs already submitted (`tablao submit --after` also takes names)")
    deleting = [found[ref] for ref in waits.depends_on if found[ref].delete_requested_at is not None]
    if deleting:
        raise BadRequest(f"`depends_on` names {_names(deleting)}, which {'is' if len(deleting) == 1 else 'are'} "
                         "being deleted and will never complete")
    return [found[ref] for ref in waits.depends_on]


def store(fx: Effects, job: Job, waits: JobWaits, now: dt.datetime, fail: FailJob) -> None:
    """A job was just stored (with its tasks): make it wait for the jobs `waits` names."""
    dependencies = find_dependencies(waits)
    if not job_dependencies.store_dependencies(job, dependencies, waits.on_failure):
        return
    job.activity = waiting_words(job)
    jobs.update_job(job.id, activity=job.activity)
    broken = [d for d in dependencies if d.status in _BROKEN]
    if broken and waits.on_failure == "fail":
        fail(fx, job, J.FAILED, now, f"job {broken[0].name!r}, which it waits for, is {broken[0].status}")


def change(fx: Effects, job: Job, waits: JobWaits, now: dt.datetime, fail: FailJob) -> None:
    """Make a stored job wait for the jobs `waits` names instead of those it waited for.

    A BadRequest, changing nothing, for a job being deleted, an unknown id, the job itself, or a job that
    (through others) waits for this one: the words name the cycle.
    """
    if job.delete_requested_at is not None:
        raise BadRequest("this job is being deleted; what it waits for can no longer change")
    if job.uuid in waits.depends_on:
        raise BadRequest(f"a job cannot wait for itself: `depends_on` names {job.name!r} ({job.uuid})")
    dependencies = find_dependencies(waits)
    path = job_dependencies.wait_path([d.id for d in dependencies], job.id)
    if path:
        raise BadRequest(f"`depends_on` would make a cycle: {job.name!r} would wait for {_cycle(path)}; "
                         "a job cannot wait for itself")
    before = job.waiting_on
    job_dependencies.replace_dependencies(job, dependencies, waits.on_failure)
    if job.waiting_on < before:
        fx.work_available = True
    if job.status not in _FINISHED:  # a finished job keeps what it said; this matters on its requeue
        settled = "Every job it waits for has completed" if dependencies else "Waits for no other job"
        job.activity = waiting_words(job) or settled
    job.updated_at = now
    jobs.update_job(job.id, activity=job.activity, updated_at=now)
    fx.job_changed(job, None)
    broken = [d for d in dependencies if d.status in _BROKEN]
    if broken and waits.on_failure == "fail" and job.status not in _FINISHED:
        fail(fx, job, J.FAILED, now, f"job {broken[0].name!r}, which it waits for, is {broken[0].status}")


def activity(job: Job, default: str) -> str:
    """The activity of a job whose status just changed: its waiting words while it waits."""
    if job.waiting_on > 0 and job.status not in _FINISHED:
        return waiting_words(job)
    return default


def status_changed(fx: Effects, job: Job, old: str, now: dt.datetime, fail: FailJob) -> None:
    """`job`'s status changed from `old` (already written): carry that over to the jobs waiting on it."""
    new = job.status
    if J.COMPLETED.value in (old, new):
        dependants = job_dependencies.completion_changed(job.id, completed=new == J.COMPLETED.value)
        if dependants and new == J.COMPLETED.value:
            fx.work_available = True
        for dependant_id in dependants:
            _retell(fx, dependant_id, now)
    if new in _BROKEN:
        for dependant in job_dependencies.dependants_of(job.id):
            _dependency_broke(fx, dependant, job, now, fail)


def dependency_deleted(fx: Effects, job: Job, now: dt.datetime, fail: FailJob) -> None:
    """`job` is being deleted: the jobs that still waited for it fail, saying so."""
    for dependant_id in job_dependencies.forget_dependency(job):
        dependant = _unfinished(dependant_id)
        if dependant is not None:
            fail(fx, dependant, J.FAILED, now, f"job {job.name!r}, which it waited for, was deleted; "
                 "requeue this job to run it without that one")


def waiting_words(job: Job) -> str:
    """"Waiting for A, B", naming a failed or canceled one and what to do about it."""
    waited = [d for d in job_dependencies.dependencies_of(job.id) if d.status != J.COMPLETED.value]
    if not waited:
        return ""
    parts = [repr(d.name) + (f" ({d.status}: requeue it, or cancel this job)" if d.status in _BROKEN else "")
             for d in waited[:5]]
    more = f" and {len(waited) - 5} more" if len(waited) > 5 else ""
    return f"Waiting for {', '.join(parts)}{more}"


def _dependency_broke(fx: Effects, dependant: Job, dependency: Job, now: dt.datetime, fail: FailJob) -> None:
    if dependant.status in _FINISHED or dependant.delete_requested_at is not None:
        return
    if dependant.on_dependency_failure == "fail":
        job = jobs.fetch_job(dependant.uuid)
        fail(fx, job, J.FAILED, now, f"job {dependency.name!r}, which it waits for, {dependency.status}")
    else:
        _retell(fx, dependant.id, now)


def _retell(fx: Effects, job_id: int, now: dt.datetime) -> None:
    """Say again what an unfinished dependant waits for (or that it waits no more)."""
    job = _unfinished(job_id)
    if job is None:
        return
    words = waiting_words(job) or "Every job it waited for has completed"
    if words != job.activity:
        job.activity, job.updated_at = words, now
        jobs.update_job(job.id, activity=words, updated_at=now)
        fx.job_changed(job, None)


def _unfinished(job_id: int) -> Job | None:
    row = Job.get_or_none(Job.id == job_id)
    if row is None or row.status in _FINISHED or row.delete_requested_at is not None:
        return None
    return jobs.fetch_job(row.uuid)


def _cycle(path: Sequence[Job]) -> str:
    """"'C', which waits for 'B', which waits for 'A'", the middle left out of a long one."""
    names = [repr(j.name) for j in path]
    if len(names) > 6:
        names = [*names[:3], f"{len(names) - 5} more jobs", *names[-2:]]
    return ", which waits for ".join(names)


def _names(found: Sequence[Job]) -> str:
    return ", ".join(f"{j.name!r} ({j.uuid})" for j in found[:5])


def _clip(text: str) -> str:
    return repr(text if len(text) <= 40 else text[:40] + "...")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
