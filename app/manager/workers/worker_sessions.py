"""The worker-facing side of the Manager: register, sign on/off, states, task hand-out and updates.

Hand-out long-polls (Tablao extension): with `X-Tablao-Wait: N` a worker that finds no task waits
up to N seconds for work to appear instead of sleeping a fixed time, so the next task starts as
soon as it exists. Without the header the answer is immediate, as Flamenco's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
import uuid as uuidlib
from collections.abc import Sequence
from typing import Any

from app.api.enums import TaskStatus as T
from app.api.enums import WorkerStatus as W
from app.api.errors import BadRequest, Conflict, NotFound
from app.api.events import TaskLogUpdate
from app.api.models import (
    RegisteredWorker,
    TablaoManagerChallenge,
    TablaoManagerProof,
    WorkerRegistration,
    WorkerSignOn,
    WorkerStateChanged,
    WorkerTaskUpdate,
)
from app.common import schedule
from app.common.jsontext import clip
from app.common.manager_proof import NONCE_CHARS, valid_nonce
from app.manager.credentials.auth import CredentialCache, WorkerIdentity, hash_secret
from app.manager.credentials.worker_keys import WorkerKeys
from app.manager.jobs.blend_scripts import ScriptsSettings, scripts_allowed, without_blend_scripts
from app.manager.jobs.convert import assigned_task_json
from app.manager.jobs.output_roots import OutputRoots
from app.manager.jobs.requirements import facts_row
from app.manager.persistence import jobs as jobs_q
from app.manager.persistence import scheduler_queries, tasks, workers
from app.manager.persistence.models import Job, Task, Worker
from app.manager.persistence.requirements import WorkerFactsRow, store_worker_facts, worker_has
from app.manager.scheduling import fair_share
from app.manager.scheduling.assignments import (
    NO_TASK,
    Assignment,
    Claimed,
    ClaimResult,
    MustChangeStatus,
    NotAwake,
    NothingRunnable,
    TaskAssigned,
)
from app.manager.scheduling.fair_share import ShareSettings
from app.manager.scheduling.waiters import Profile
from app.manager.settings.variables import Variables
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.failures import FailurePolicy, task_failed_by_worker
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.tasks import NOT_COMPLETED, change_task_status
from app.manager.state_machine.workers import WorkerStatusMachine
from app.manager.workers.task_runs import NO_STATS, RenderStats, run_record
from app.manager.workers.worker_blender import WorkerBlenders

_log = logging.getLogger(__name__)
MAX_WAIT_S = 60.0
# Registrations and sign-ons handled at once; the rest wait their turn, parked, off the loop's ready
# queue. A cloud burst then costs the running workers' task updates one short turn, not a place
# behind hundreds of sign-ups (bench/scale.py --burst).
SIGN_UPS_AT_ONCE = 4
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class WorkerSessions:
    def __init__(self, machine: StatusMachine, creds: CredentialCache, variables: Variables,
                 policy: FailurePolicy, local_tz: dt.tzinfo | None = None, max_wait_s: float = MAX_WAIT_S,
                 statuses: WorkerStatusMachine | None = None, scripts: ScriptsSettings | None = None,
                 outputs: OutputRoots | None = None, keys: WorkerKeys | None = None):
        self.machine, self.creds, self.variables, self.policy = machine, creds, variables, policy
        self.keys = keys  # None: this Manager gives its workers no key and proves nothing
        #: Whether .blend scripts may run (the Manager's live config); None: never.
        self.scripts = scripts
        #: Where jobs may write, told to each worker with its task; None: not told (unit tests).
        self.outputs = outputs
        self.statuses = statuses or WorkerStatusMachine()
        self.local_tz = local_tz
        # A held request does not refresh "last seen", so holds must end well before a timeout.
        self.max_wait_s = max_wait_s
        machine.waiters.work.set_counter(self._count_runnable)
        self._sign_ups = asyncio.Semaphore(SIGN_UPS_AT_ONCE)
        #: False once `hold_new_work()` was called: a Manager about to stop hands out no new task.
        self.handing_out = True
        #: The Blender each worker renders with, kept current from its vitals.
        self.blenders = WorkerBlenders(machine)

    def hold_new_work(self) -> None:
        """Hand out no new task from now on (running ones go on and report); for a stop after the
        current tasks. A Manager that starts again hands out work as before."""
        self.handing_out = False

    @property
    def store(self):
        return self.machine.store

    # --- registration and sign-on --------------------------------------------------------------
    async def register(self, body: WorkerRegistration, address: str) -> RegisteredWorker:
        fields = {
            "uuid": str(uuidlib.uuid4()), "secret_hash": hash_secret(body.secret.strip()),
            "name": body.name.strip(), "platform": body.platform.strip().lower(),
            "supported_task_types": _task_types(body.supported_task_types), "address": address,
            "status": W.OFFLINE.value, "software": body.software or "",
        }
        # Short indexed writes, like the hot path: on the loop in turn with the running workers'
        # updates, so a burst of thousands of sign-ups cannot keep the store thread (and the
        # updates waiting for it) busy (bench/scale.py --burst).
        async with self._sign_ups:
            worker = await self.machine.run_quick(_register_sync, self.statuses, fields)
        self.creds.add(worker.id, worker.uuid, worker.secret_hash)
        _log.info("registered worker %s (%s)", clip(worker.name), worker.uuid)
        return RegisteredWorker(
            uuid=worker.uuid, name=worker.name, address=worker.address, status=W(worker.status),
            platform=worker.platform, software=worker.software,
            supported_task_types=worker.supported_task_types.split(","), tablao_manager_key=self.key_of(worker.uuid))

    def key_of(self, worker_uuid: str) -> str | None:
        """The worker's key, the optional field of the register and sign-on answers (stock workers
        ignore it). Sent on every sign-on: a worker registered before Managers had keys gets it there."""
        return None if self.keys is None else self.keys.key_for(worker_uuid)

    def prove(self, challenge: TablaoManagerChallenge, host: str) -> TablaoManagerProof:
        """The answer to a worker's challenge: the proof for its nonce and the Host it was sent to."""
        worker_uuid, nonce = challenge.worker_id, challenge.nonce
        if not _UUID.fullmatch(worker_uuid):
            raise BadRequest("`worker_id` must be the uuid the worker got when it registered")
        if not valid_nonce(nonce):
            raise BadRequest(f"`nonce` must be {NONCE_CHARS} lowercase hexadecimal characters, new for "
                             "every challenge")
        if not host:
            raise BadRequest("the request has no Host header, which the proof is bound to")
        if self.keys is None or not self.creds.knows(worker_uuid):
            raise NotFound("this Manager has no such worker")
        return TablaoManagerProof(self.keys.prove(worker_uuid, nonce, host))

    async def sign_on(self, ident: WorkerIdentity, body: WorkerSignOn, address: str) -> str:
        fields = {"name": body.name.strip(), "supported_task_types": _task_types(body.supported_task_types),
                  "software": body.software_version, "can_restart": body.can_restart, "address": address}
        facts = facts_row(body.facts)
        self.blenders.signed_on(ident.id)
        async with self._sign_ups:
            return await self.machine.run_quick(_sign_on_sync, self.statuses, ident.id, fields, self._local_now(),
                                                facts)

    async def sign_off(self, ident: WorkerIdentity) -> None:
        await self.machine.run_quick(_sign_off_sync, self.statuses, ident.id)

    async def state(self, ident: WorkerIdentity, wait_s: float = 0.0) -> str | None:
        """The pending status request; with `wait_s`, held until one appears (asleep workers)."""
        signal = self.machine.waiters.worker_signal(ident.uuid)
        generation = signal.generation
        requested = await self.machine.run_quick(_state_sync, ident.id)
        if requested or wait_s <= 0:
            return requested
        with self.machine.last_seen.holding(ident.id):
            changed = await signal.wait(generation, min(wait_s, self.max_wait_s))
        if changed:
            return await self.machine.run_quick(_state_sync, ident.id)
        return None

    async def state_changed(self, ident: WorkerIdentity, body: WorkerStateChanged) -> None:
        await self.machine.run_quick(_state_changed_sync, self.statuses, ident.id, body.status)

    # --- task hand-out -------------------------------------------------------------------------
    async def schedule(self, ident: WorkerIdentity, wait_s: float) -> Assignment:
        deadline = time.monotonic() + min(max(wait_s, 0.0), self.max_wait_s)
        if not self.handing_out:  # stopping after the current tasks: "no task", after the usual wait
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            return NO_TASK
        queue = self.machine.waiters.work
        waiter = None
        claimed = False
        try:
            while True:
                generation = queue.generation
                profile = queue.still_nothing(ident.uuid)
                if profile is not None:
                    # An idle re-poll and nothing changed, neither the work nor this worker (any
                    # change to its status or requests clears `still_nothing`): no store at all.
                    self.machine.last_seen.note(ident.id, self.machine.clock.now().replace(tzinfo=None))
                else:
                    found: ClaimResult = await self.machine.run_quick(_schedule_sync, ident.id,
                                                                       fair_share.settings_of(self.scripts))
                    match found:
                        case Claimed():
                            queue.found_task(ident.uuid)
                            claimed = True
                            return self._assigned(found)
                        case NothingRunnable(profile=profile):
                            queue.found_nothing(ident.uuid, generation, profile)
                        case _:  # the worker must change or announce its status first
                            return found
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return NO_TASK
                # Queue up in the order of waiting; woken when work this worker can run appears.
                if waiter is None:
                    waiter = queue.enter(ident.uuid, profile, generation)
                with self.machine.last_seen.holding(ident.id):
                    woken = await queue.wait(waiter, generation, profile, remaining)
                if not woken:
                    return NO_TASK
        finally:
            if waiter is not None:
                queue.leave(waiter, claimed)

    def _assigned(self, claimed: Claimed) -> TaskAssigned:
        """The claimed task as this worker is to run it: commands for its platform, and what it may do."""
        task, job = claimed.task, claimed.job
        platform = claimed.worker.platform or "linux"
        commands = self.variables.expand_for_worker(task.commands, platform)
        allowed = self.scripts is not None and scripts_allowed(self.scripts, job)
        if not allowed:
            commands = without_blend_scripts(commands)
        roots = denied = None
        if self.outputs is not None:
            roots, denied = self.outputs.roots(platform), self.outputs.denied(platform)
        return TaskAssigned(assigned_task_json(task, job, commands, blend_scripts=allowed,
                                               output_roots=roots, output_denied=denied))

    async def _count_runnable(self, wanted: Sequence[tuple[Profile, int]]) -> list[int]:
        """For the work queue: per group of waiting workers, how many tasks they could take."""
        return await self.machine.run_quick(_count_runnable_sync, list(wanted))

    async def task_update(self, ident: WorkerIdentity, task_uuid: str, body: WorkerTaskUpdate) -> None:
        """Apply a worker's task update: its status, activity and steps, then the log lines it sent.

        The log text is queued for the task's log and announced on the event stream after the
        update's transaction committed, as every event is."""
        # Running work goes before sign-ups and claims on the loop (app/manager/runtime/loop_turns.py).
        job_uuid = await self.machine.run_quick(_task_update_sync, ident.id, task_uuid, body.task_status,
                                                body.activity, body.steps_completed, self.policy,
                                                RenderStats(body.render_time_s, body.peak_memory_mb),
                                                turn_first=True)
        if body.log:
            await self.machine.logs.append(job_uuid, task_uuid, body.log)
            self.machine.bus.emit(TaskLogUpdate(task_id=task_uuid, log=body.log, job_id=job_uuid))

    async def owned_task_job(self, ident: WorkerIdentity, task_uuid: str) -> str:
        """The job of a task this worker is running; 409 when the task is someone else's."""
        task = await self.store.call(_own_task, ident.id, task_uuid)
        return task.job.uuid

    async def may_i_run(self, ident: WorkerIdentity, task_uuid: str, wait_s: float) -> dict[str, Any]:
        waiters = self.machine.waiters
        task_sig, worker_sig = waiters.task_signal(task_uuid), waiters.worker_signal(ident.uuid)
        gens = (task_sig.generation, worker_sig.generation)
        answer = await self.machine.run_quick(_may_i_run_sync, ident.id, task_uuid, turn_first=True)
        if not answer["mayKeepRunning"] or wait_s <= 0:
            return answer
        wait_s = min(wait_s, self.max_wait_s)
        waits = [asyncio.ensure_future(task_sig.wait(gens[0], wait_s)),
                 asyncio.ensure_future(worker_sig.wait(gens[1], wait_s))]
        try:
            with self.machine.last_seen.holding(ident.id):
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for w in waits:
                w.cancel()
        return await self.machine.run_quick(_may_i_run_sync, ident.id, task_uuid, turn_first=True)

    def _local_now(self) -> dt.datetime:
        return self.machine.clock.now().astimezone(self.local_tz)


# --- helpers --------------------------------------------------------------------------------------
def _task_types(types: list[str]) -> str:
    return ",".join(sorted({t.strip().lower() for t in types if t.strip()}))


# --- store-thread bodies ---------------------------------------------------------------------------
def _register_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine,
                   fields: dict[str, Any]) -> Worker:
    worker = workers.create_worker(created_at=now, updated_at=now, last_seen_at=now, **fields)
    statuses.registered(fx, worker)
    return worker


_SEEN_RESOLUTION = dt.timedelta(seconds=1)


def _seen(worker: Worker, now: dt.datetime) -> None:
    # Timeouts are counted in seconds or more; a write per request would be pure overhead.
    if worker.last_seen_at is not None and now - worker.last_seen_at < _SEEN_RESOLUTION:
        return
    worker.last_seen_at = now
    workers.update_worker(worker.id, last_seen_at=now)


def _sign_on_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, worker_id: int,
                  fields: dict[str, Any], local_now: dt.datetime, facts: WorkerFactsRow | None = None) -> str:
    worker = workers.fetch_worker_by_id(worker_id)
    for key, value in fields.items():
        setattr(worker, key, value)
    workers.update_worker(worker_id, **fields)
    if facts is not None:  # a stock worker says nothing of its GPU, memory or Blender: kept as they were
        store_worker_facts(worker_id, facts)
    initial = worker.status_requested or _scheduled_status(worker_id, local_now) or W.AWAKE.value
    statuses.signed_on(fx, worker, now)
    return initial


def _scheduled_status(worker_id: int, local_now: dt.datetime) -> str | None:
    sched = workers.fetch_sleep_schedule(worker_id)
    if sched is None or not sched.is_active:
        return None
    window = schedule.parse_window(True, sched.days_of_week, sched.start_time, sched.end_time)
    return W.ASLEEP.value if schedule.should_sleep(local_now, window) else W.AWAKE.value


def _sign_off_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, worker_id: int) -> None:
    statuses.signed_off(fx, workers.fetch_worker_by_id(worker_id), now)


def _state_sync(fx: Effects, now: dt.datetime, worker_id: int) -> str | None:
    worker = workers.fetch_worker_by_id(worker_id)
    _seen(worker, now)
    return worker.status_requested or None


def _state_changed_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, worker_id: int,
                        status: W) -> None:
    statuses.reported(fx, workers.fetch_worker_by_id(worker_id), status, now)


def _check_worker_sync(fx: Effects, now: dt.datetime, worker: Worker) -> Worker | MustChangeStatus | NotAwake:
    """The part of a claim about the worker itself: seen now, and the worker if it may take work."""
    _seen(worker, now)
    if worker.status_requested:
        return MustChangeStatus(worker.status_requested)
    if worker.status != W.AWAKE:
        return NotAwake(worker.status)
    return worker


def _schedule_sync(fx: Effects, now: dt.datetime, worker_id: int, share: ShareSettings | None = None) -> ClaimResult:
    # The worker and its still-active task in one statement (each is a round trip on PostgreSQL),
    # there with the claim statement for the task types the worker had at its last claim.
    start = scheduler_queries.claim_start(worker_id)
    worker, task_id = _check_worker_sync(fx, now, start.worker), start.active_task
    if not isinstance(worker, Worker):
        return worker
    if task_id is None:
        types = list(scheduler_queries.task_types_of(worker))
        task = scheduler_queries.runnable_task(worker_id, types, share, start)
        if task is None:  # what it can run, for its place in the work queue
            return NothingRunnable((tuple(types), scheduler_queries.worker_tag_ids(worker_id), worker_has(worker_id)))
        # Found and assigned in one transaction under the store lock: nobody else can claim it.
        change_task_status(fx, task, task.job, T.ACTIVE, now, activity="Assigned",
                           reason=f"assigned to worker {worker.name} ({worker.uuid})", worker=worker,
                           extra_fields={"worker": worker_id, "last_touched_at": now, "started_at": now})
        task.started_at = now
        task.worker_id = worker_id
        return Claimed(worker, task, task.job)
    task = tasks.fetch_task_by_id(task_id)
    return Claimed(worker, task, task.job)


def _count_runnable_sync(fx: Effects, now: dt.datetime, wanted: list[tuple[Profile, int]]) -> list[int]:
    return [scheduler_queries.count_runnable(types, tags, limit, has) for (types, tags, has), limit in wanted]


def _own_task(worker_id: int, task_uuid: str) -> Task:
    task = tasks.fetch_task(task_uuid)
    if task.worker_id != worker_id:
        raise Conflict(f"task {task_uuid} is not assigned to this worker")
    return task


def _own_task_completing(worker_id: int, task_uuid: str) -> tuple[Task, tuple[bool, bool] | None]:
    """`_own_task` for a "completed" update, with `tasks.completed`'s answer when read along (PostgreSQL,
    the worker's active task: the update then certainly completes it, or its savepoint undoes all)."""
    task, completion = tasks.fetch_task_completing(task_uuid, worker_id, T.ACTIVE.value, NOT_COMPLETED)
    if task.worker_id != worker_id:
        raise Conflict(f"task {task_uuid} is not assigned to this worker")
    return task, completion


def _task_update_sync(fx: Effects, now: dt.datetime, worker_id: int, task_uuid: str, status: T | None,
                      activity: str | None, steps: int | None, policy: FailurePolicy,
                      stats: RenderStats = NO_STATS) -> str:
    completion = None
    if status == T.COMPLETED:
        task, completion = _own_task_completing(worker_id, task_uuid)
    else:
        task = _own_task(worker_id, task_uuid)
    job: Job = task.job
    worker = task.worker
    assert worker is not None  # `_own_task` found the task through this worker
    _seen(worker, now)
    fields: dict[str, Any] = {"last_touched_at": now}
    if status is not None and task.status != T.ACTIVE:
        raise Conflict(f"task {task_uuid} is {task.status}, no longer active; stop working on it")
    if status in (T.COMPLETED, T.FAILED):
        fx.runs.append(run_record(worker_id, task, job, status.value, now, stats))
    if status == T.COMPLETED and steps is None:
        # The common "completed" update: one UPDATE carries the touch and the new status.
        change_task_status(fx, task, job, status, now, activity=activity, worker=worker, extra_fields=fields,
                           completion=completion)
        return job.uuid
    if activity is not None:
        fields["activity"] = task.activity = activity
    if steps is not None and status is None:
        steps = min(steps, task.steps_total)
        if steps != task.steps_completed:
            job.steps_completed = max(0, job.steps_completed + steps - task.steps_completed)
            job.updated_at = now  # the event below says when: a client keeps the newest it saw
            jobs_q.update_job(job.id, steps_completed=job.steps_completed, updated_at=now)
            fields["steps_completed"] = task.steps_completed = steps
            fx.job_changed(job, None)
    tasks.update_task(task.id, updated_at=now, **fields)
    task.updated_at = now
    if status == T.FAILED:
        task_failed_by_worker(fx, task, job, worker, now, activity or "Failed", policy)
    elif status is not None and status != task.status:
        change_task_status(fx, task, job, status, now, activity=activity, worker=worker, completion=completion)
    elif activity is not None or steps is not None:
        fx.task_changed(task, job, None, worker)
    return job.uuid


def _may_i_run_sync(fx: Effects, now: dt.datetime, worker_id: int, task_uuid: str) -> dict[str, Any]:
    worker = workers.fetch_worker_by_id(worker_id)
    _seen(worker, now)
    if worker.status_requested and not worker.lazy_status_request:
        return _no(f"worker is asked to go {worker.status_requested}", status_change=True)
    try:
        task = tasks.fetch_task(task_uuid)
    except NotFound:
        return _no("task not found; it may have been deleted")
    if task.worker_id != worker_id:
        return _no("task is assigned to another worker")
    if task.status != T.ACTIVE:
        return _no(f"task is {task.status}")
    tasks.touch(task.id, now)
    return {"mayKeepRunning": True, "reason": "", "statusChangeRequested": False}


def _no(reason: str, status_change: bool = False) -> dict[str, Any]:
    return {"mayKeepRunning": False, "reason": reason, "statusChangeRequested": status_change}
