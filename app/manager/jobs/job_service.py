"""Jobs for the API: submission (validate, compile, store), queries, status, priority, tags, deletion."""

from __future__ import annotations

import builtins  # `list` inside the class below names its own list() method
import dataclasses
import datetime as dt
import logging
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any, Protocol

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.api.errors import BadRequest, NotFound, Unprocessable
from app.api.jobs import (
    BlocklistEntry,
    JobDependsOnChange,
    JobMassDeletionSelection,
    JobPriorityChange,
    JobStatusChange,
    JobStorageInfo,
    JobTagChange,
    SubmittedJob,
    TaskStatusChange,
)
from app.common.clock import parse_rfc3339
from app.common.jsontext import clip
from app.manager.jobs import requirements
from app.manager.jobs.convert import job_json, task_json, task_summary_json
from app.manager.jobs.job_chain import load_chain
from app.manager.jobs.output_roots import OutputRoots
from app.manager.persistence import blocklist, jobs, tasks
from app.manager.persistence.db import Store
from app.manager.persistence.jobs import NewJob, NewTask
from app.manager.persistence.reader import Reader
from app.manager.persistence.requirements import JobNeeds, store_job_needs
from app.manager.scheduling import preview_first
from app.manager.settings.variables import Variables
from app.manager.state_machine import job_waits
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.statuses import JOB_REQUESTABLE, TASK_REQUESTABLE, describe_allowed
from app.manager.state_machine.tasks import change_job_status, change_task_status, requeue_task_and_dependents
from app.shaman.paths import shown, validate_checkout_path

_log = logging.getLogger(__name__)


class Compiler(Protocol):
    async def compile(self, submitted: SubmittedJob, *, job_id: str, created: dt.datetime) -> Any: ...


class CheckoutRecords(Protocol):
    """What job submission needs from the Shaman: did it make this checkout (and still has it)?"""

    async def has_checkout(self, checkout_path: object) -> bool: ...


class JobService:
    def __init__(self, machine: StatusMachine, compiler: Compiler, variables: Variables,
                 checkouts: CheckoutRecords | None = None, outputs: OutputRoots | None = None,
                 reader: Reader | None = None):
        self.machine, self.compiler, self.variables = machine, compiler, variables
        self.store = machine.store
        self.reader: Reader | Store = reader or machine.store  # a job's answer: beside the farm's writes
        self.checkouts = checkouts  # the Shaman, when this Manager has one
        self.outputs = outputs  # where jobs may write; None: anywhere (unit tests)

    # --- submission ----------------------------------------------------------------------------
    async def submit(self, body: SubmittedJob, *, credentialed: bool = False,
                     job_uuid: str | None = None) -> dict[str, Any]:
        """Compile and store a job; `credentialed`: its submitter showed a token (see blend_scripts.py).
        `job_uuid`: the id a hub gave the job (it keeps one id at the hub and its site); else a new one."""
        submitted = self._prepare(body)
        needs = requirements.job_needs(submitted.requirements)
        await self._check_checkout(_checkout_of(submitted))
        job_uuid = job_uuid or str(uuidlib.uuid4())
        created = self.machine.clock.now()
        authored = await self.compiler.compile(submitted, job_id=job_uuid, created=created)
        self._check_outputs(authored)
        new = _new_job(job_uuid, submitted, authored, created.replace(tzinfo=None), credentialed)
        waits = job_waits.waits_of(body.depends_on, body.on_dependency_failure)
        job = await self.machine.run(_store_sync, new, waits, needs)
        _log.info("stored job %s (%s) with %d tasks", clip(job.name), job.uuid, len(new.tasks))
        return job_json(job)

    async def check(self, body: SubmittedJob) -> None:
        submitted = self._prepare(body)
        requirements.job_needs(submitted.requirements)
        if body.depends_on:  # checked again when a job is stored
            await self.store.call(job_waits.find_dependencies, job_waits.waits_of(body.depends_on, None))
        checkout = _checkout_of(submitted)
        await self._check_checkout(checkout)
        if checkout:
            _refuse_owned_checkout(await self.store.call(jobs.job_with_checkout, checkout), checkout)
        authored = await self.compiler.compile(submitted, job_id=str(uuidlib.uuid4()),
                                               created=self.machine.clock.now())
        self._check_outputs(authored)
        preview_first.hand_out_ranks(authored)  # its switches are readable

    def _check_outputs(self, authored: Any) -> None:
        if self.outputs is not None:
            self.outputs.check_tasks(authored.tasks)

    def _prepare(self, job: SubmittedJob) -> SubmittedJob:
        """The job with its two-way variables replaced and its Shaman checkout path made clean."""
        platform = job.submitter_platform
        checkout = _checkout_id(job.storage.shaman_checkout_id if job.storage else None)
        return dataclasses.replace(
            job, settings=self.variables.replace_two_way_on_submit(job.settings, platform),
            metadata=self.variables.replace_two_way_on_submit(job.metadata, platform),
            storage=JobStorageInfo(shaman_checkout_id=checkout))

    async def _check_checkout(self, checkout: str) -> None:
        """A job may only refer to a checkout the Shaman made; who owns it is checked on storing."""
        if not checkout:
            return
        if self.checkouts is None:
            raise BadRequest("`storage.shaman_checkout_id` is set, but this Manager has no Shaman")
        if not await self.checkouts.has_checkout(checkout):
            raise BadRequest(f"`storage.shaman_checkout_id` {shown(checkout)} is not a checkout made by "
                             "this Manager's Shaman; create one with /api/v3/shaman/checkout/create")

    # --- queries -------------------------------------------------------------------------------
    async def fetch(self, job_uuid: str) -> dict[str, Any]:
        return job_json(await self.reader.call(jobs.fetch_job, job_uuid))

    async def list(self, limit: int | None = None, offset: int = 0,
                   statuses: list[str] | None = None) -> tuple[list[dict[str, Any]], int]:
        rows, total = await self.store.call(jobs.list_jobs, limit, offset, statuses)
        return [job_json(j) for j in rows], total

    async def chain(self, job_uuid: str) -> dict[str, Any]:
        """The jobs this one waits for and those waiting for it (`app.api.jobs.JobChain`)."""
        return (await self.store.call(load_chain, job_uuid)).to_json()

    async def job_tasks(self, job_uuid: str) -> builtins.list[dict[str, Any]]:
        def load():
            return tasks.job_tasks(jobs.fetch_job(job_uuid).id)
        return [task_summary_json(t) for t in await self.store.call(load)]

    async def task(self, task_uuid: str) -> dict[str, Any]:
        def load():
            task = tasks.fetch_task(task_uuid)
            return task, tasks.failed_by_workers(task.id)
        return task_json(*await self.store.call(load))

    async def task_ids(self, task_uuid: str) -> tuple[str, str]:
        task = await self.store.call(tasks.fetch_task, task_uuid)
        return task.job.uuid, task.uuid

    # --- changes -------------------------------------------------------------------------------
    async def set_job_status(self, job_uuid: str, change: JobStatusChange) -> None:
        await self.machine.run(_set_job_status_sync, job_uuid, change.status, change.reason)

    async def set_task_status(self, task_uuid: str, change: TaskStatusChange) -> None:
        await self.machine.run(_set_task_status_sync, task_uuid, change.status, change.reason)

    async def set_priority(self, job_uuid: str, change: JobPriorityChange) -> None:
        await self.machine.run(_set_priority_sync, job_uuid, change.priority)

    async def set_depends_on(self, job_uuid: str, change: JobDependsOnChange) -> None:
        waits = job_waits.waits_of(change.depends_on, change.on_dependency_failure)
        await self.machine.run(_set_depends_on_sync, job_uuid, waits)

    async def set_tag(self, job_uuid: str, change: JobTagChange) -> None:
        ref = change.id or change.name or None
        try:
            await self.machine.run(_set_tag_sync, job_uuid, ref)
        except NotFound as exc:
            if "tag" in exc.message:
                raise Unprocessable(exc.message) from exc
            raise

    async def blocklist(self, job_uuid: str) -> builtins.list[dict[str, Any]]:
        def load():
            return blocklist.list_for_job(jobs.fetch_job(job_uuid).id)
        rows = await self.store.call(load)
        return [BlocklistEntry(worker_id=w, task_type=t, worker_name=n).to_json() for w, n, t in rows]

    async def remove_blocklist(self, job_uuid: str, body: Sequence[BlocklistEntry]) -> None:
        entries = [(e.worker_id, e.task_type) for e in body]
        def remove():
            blocklist.remove(jobs.fetch_job(job_uuid).id, entries)
        await self.store.call(remove)
        self.machine.waiters.work_available()

    # --- deletion ------------------------------------------------------------------------------
    async def request_deletion(self, job_uuid: str) -> None:
        await self.machine.run(_request_deletion_sync, job_uuid)

    async def request_mass_deletion(self, selection: JobMassDeletionSelection) -> int:
        try:
            moment = parse_rfc3339(selection.last_updated_max)
        except ValueError:
            raise BadRequest("`last_updated_max` must be an RFC 3339 timestamp") from None
        # Round up to whole seconds: clients show seconds, and "up to 12:00:01" should include it.
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + dt.timedelta(seconds=1)
        limit = moment.astimezone(dt.UTC).replace(tzinfo=None)
        return await self.machine.run(_mass_delete_sync, limit)


# --- submission helpers -----------------------------------------------------------------------------
def _checkout_of(job: SubmittedJob) -> str:
    """The job's Shaman checkout path, "" for none."""
    return (job.storage.shaman_checkout_id if job.storage else None) or ""


def _checkout_id(value: Any) -> str:
    """The job's Shaman checkout: "" for none, else a clean relative path (BadRequest otherwise)."""
    if value is None or value == "":
        return ""
    try:
        return validate_checkout_path(value, "`storage.shaman_checkout_id`").as_posix()
    except BadRequest as exc:
        raise BadRequest(f"{exc.message}; it must be the `checkoutPath` the Shaman answered") from None


def _refuse_owned_checkout(owner: Any, checkout: str) -> None:
    if owner is not None:
        raise BadRequest(f"Shaman checkout {shown(checkout)} already belongs to job {owner.uuid} "
                         f"({shown(owner.name, 80)}); each job needs a checkout of its own")


def _new_job(job_uuid: str, submitted: SubmittedJob, authored: Any, created: dt.datetime,
             credentialed: bool = False) -> NewJob:
    ranks = preview_first.hand_out_ranks(authored)
    new_tasks = [NewTask(uuid=t.uuid, name=t.name, type=t.type, index_in_job=t.index_in_job,
                         priority=t.priority, commands=t.commands, steps_total=t.steps_total,
                         dependencies=list(t.dependencies), hand_out_rank=rank)
                 for t, rank in zip(authored.tasks, ranks, strict=True)]
    return NewJob(
        uuid=job_uuid, name=submitted.name.strip(), job_type=submitted.type,
        priority=submitted.priority, status=str(submitted.initial_status or J.QUEUED),
        settings=authored.settings, metadata=authored.metadata,
        submitter_platform=submitted.submitter_platform, type_etag=submitted.type_etag or "",
        storage_shaman_checkout_id=_checkout_of(submitted),
        worker_tag_uuid=submitted.worker_tag or None, created_at=created, tasks=new_tasks,
        credentialed=credentialed,
    )


# --- store-thread bodies -------------------------------------------------------------------------
def _store_sync(fx: Effects, now: dt.datetime, new: NewJob, waits: job_waits.JobWaits | None = None,
                needs: JobNeeds | None = None):
    if new.storage_shaman_checkout_id:  # checked here, in the writing transaction: no two jobs race
        checkout = new.storage_shaman_checkout_id
        _refuse_owned_checkout(jobs.job_with_checkout(checkout), checkout)
    try:
        job = jobs.store_new_job(new)
    except NotFound as exc:
        raise BadRequest(exc.message) from exc
    store_job_needs(job.id, needs or JobNeeds())  # in the same transaction: no claim sees it without
    job_waits.store(fx, job, waits or job_waits.JobWaits(), now, change_job_status)
    job = jobs.fetch_job(job.uuid)
    fx.job_changed(job, None, refresh_tasks=True, first=True)
    fx.work_available = True
    return job


def _set_job_status_sync(fx: Effects, now: dt.datetime, job_uuid: str, status: J, reason: str) -> None:
    job = jobs.fetch_job(job_uuid)
    current = J(job.status)
    if current == status:
        return
    if job.delete_requested_at is not None:
        raise Unprocessable("this job is being deleted; its status can no longer change")
    if current not in JOB_REQUESTABLE.get(status, ()):
        raise Unprocessable(f"cannot change job status from {current.value!r} to {status.value!r}; "
                            f"{status.value!r} is {describe_allowed(JOB_REQUESTABLE, status)}")
    change_job_status(fx, job, status, now, reason or "requested by a user", from_api=True)


def _set_task_status_sync(fx: Effects, now: dt.datetime, task_uuid: str, status: T, reason: str) -> None:
    task = tasks.fetch_task(task_uuid)
    job = task.job
    current = T(task.status)
    if current == status:
        return
    if current not in TASK_REQUESTABLE.get(status, ()):
        raise Unprocessable(f"cannot change task status from {current.value!r} to {status.value!r}; "
                            f"{status.value!r} is {describe_allowed(TASK_REQUESTABLE, status)}")
    if status == T.CANCELED and job.status == J.PAUSE_REQUESTED:
        raise Unprocessable("the job is pausing; wait until it is paused before canceling tasks")
    reason = reason or "requested by a user"
    if status == T.QUEUED:
        requeue_task_and_dependents(fx, task, job, now, reason)
    else:
        change_task_status(fx, task, job, status, now, activity=f"Canceled: {reason}", reason=reason)


def _set_priority_sync(fx: Effects, now: dt.datetime, job_uuid: str, priority: int) -> None:
    job = jobs.set_priority(job_uuid, priority, now)
    fx.job_changed(job, None)
    fx.work_available = True


def _set_depends_on_sync(fx: Effects, now: dt.datetime, job_uuid: str, waits: job_waits.JobWaits) -> None:
    job_waits.change(fx, jobs.fetch_job(job_uuid), waits, now, change_job_status)


def _set_tag_sync(fx: Effects, now: dt.datetime, job_uuid: str, ref: str | None) -> None:
    job = jobs.set_tag(job_uuid, ref, now)
    fx.job_changed(job, None)
    fx.work_available = True


def _request_deletion_sync(fx: Effects, now: dt.datetime, job_uuid: str) -> None:
    job = jobs.fetch_job(job_uuid)
    job_waits.dependency_deleted(fx, job, now, change_job_status)
    if job.status in (J.ACTIVE, J.QUEUED, J.PAUSE_REQUESTED):
        change_job_status(fx, job, J.CANCEL_REQUESTED, now, "job is being deleted")
    job = jobs.request_deletion(job_uuid, now)
    fx.job_changed(job, None)
    fx.jobs_to_delete.append(job_uuid)


def _mass_delete_sync(fx: Effects, now: dt.datetime, last_updated_max: dt.datetime) -> int:
    uuids = jobs.request_mass_deletion(last_updated_max, now)
    for job_uuid in uuids:
        job = jobs.fetch_job(job_uuid)
        job_waits.dependency_deleted(fx, job, now, change_job_status)
        if job.status in (J.ACTIVE, J.QUEUED, J.PAUSE_REQUESTED):
            change_job_status(fx, job, J.CANCEL_REQUESTED, now, "job is being deleted")
        fx.job_changed(job, None)
        fx.jobs_to_delete.append(job_uuid)
    return len(uuids)
