"""Background services of the Manager: timeouts, job deletion, sleep schedules, farm status, WAL.

Each exposes `async run()` and runs until cancelled; `ManagerService` runs them in one TaskGroup.
The periodic ones loop through `app.common.loops.run_periodic`; worker statuses change only through
`WorkerStatusMachine`.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from app.api.enums import FarmStatus as F
from app.api.enums import JobStatus as J
from app.api.enums import WorkerStatus as W
from app.api.events import FarmStatusUpdate
from app.common import events as ev
from app.common import schedule
from app.common.loops import Wakeup, run_periodic
from app.manager.jobs import convert
from app.manager.persistence import jobs, tasks, workers
from app.manager.persistence.db import Store
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.failures import FailurePolicy, task_failed_by_worker
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.workers import WorkerStatusMachine

_log = logging.getLogger(__name__)


class TimeoutChecker:
    """Requeues work of silent tasks and silent workers, so others can take it."""

    def __init__(self, machine: StatusMachine, task_timeout: float, worker_timeout: float,
                 policy: FailurePolicy, interval: float | None = None,
                 statuses: WorkerStatusMachine | None = None):
        self.machine, self.policy = machine, policy
        self.statuses = statuses or WorkerStatusMachine()
        self.task_timeout, self.worker_timeout = task_timeout, worker_timeout
        shortest = min(t for t in (task_timeout, worker_timeout, 60.0) if t > 0)
        self.interval = interval if interval is not None else max(0.5, shortest / 4)

    async def run(self) -> None:
        await run_periodic("timeout check", lambda: self.interval, self.check,
                           first_delay=self.interval, sleep=self.machine.clock.sleep)

    async def check(self) -> None:
        await self.machine.last_seen.flush()  # idle re-polls' times, kept in memory for a moment
        await self.machine.run(_check_timeouts_sync, self.statuses, self.task_timeout, self.worker_timeout,
                               self.policy)


def _check_timeouts_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, task_timeout: float,
                         worker_timeout: float, policy: FailurePolicy) -> None:
    if worker_timeout > 0:
        before = now - dt.timedelta(seconds=worker_timeout)
        for worker in workers.timed_out_workers(before, [W.ERROR.value, W.OFFLINE.value]):
            statuses.timed_out(fx, worker, now)
    if task_timeout > 0:
        before = now - dt.timedelta(seconds=task_timeout)
        for task in tasks.timed_out_tasks(before):
            runner = task.worker
            if runner is None or not getattr(runner, "id", None):
                continue
            _log.warning("task %s timed out on worker %s", task.uuid, runner.name)
            activity = f"Task timed out: no news from worker {runner.name} for {int(task_timeout)}s"
            task_failed_by_worker(fx, task, task.job, runner, now, activity, policy)


@dataclass
class _DeletionFailure:
    attempts: int
    cause: str
    retry_at: float  # time.monotonic()


class JobDeleter:
    """Deletes jobs whose deletion was requested: Shaman checkout, local files, then the rows.

    Each job is cleaned up on its own: a job whose clean-up fails is reported once (an ERROR line
    and the job's activity; again only when the cause changes), skipped, and retried later with a
    growing delay, so one broken job never holds up the jobs queued after it.
    """

    def __init__(self, machine: StatusMachine, remove_job_files: Callable[[str], Awaitable[None]],
                 erase_checkout: Callable[[str], Awaitable[Any]] | None = None,
                 retry_delay: float = 60.0, max_retry_delay: float = 3600.0):
        self.machine, self.remove_job_files, self.erase_checkout = machine, remove_job_files, erase_checkout
        self.retry_delay, self.max_retry_delay = retry_delay, max_retry_delay
        self._failures: dict[str, _DeletionFailure] = {}

    async def run(self) -> None:
        await run_periodic("job deletion", 60.0, self.delete_pending, self.machine.waiters.deletion)

    def failures(self) -> dict[str, str]:
        """Job uuid -> cause, for jobs whose clean-up failed and waits for a retry."""
        return {job_uuid: failure.cause for job_uuid, failure in self._failures.items()}

    async def delete_pending(self) -> int:
        """Delete every pending job that is not waiting for a retry; returns how many went."""
        pending = await self.machine.store.call(jobs.jobs_pending_deletion)
        self._failures = {j.uuid: self._failures[j.uuid] for j in pending if j.uuid in self._failures}
        deleted = 0
        for job in pending:
            failure = self._failures.get(job.uuid)
            if failure is not None and failure.retry_at > time.monotonic():
                continue
            try:
                await self._delete(job)
            except Exception as exc:  # noqa: BLE001 - report, retry later, go on with the next job
                await self._failed(job, exc)
                continue
            deleted += 1
            if self._failures.pop(job.uuid, None) is not None:
                _log.info("deleted job %s (%s) after earlier failures", job.name, job.uuid)
        return deleted

    async def _delete(self, job: Any) -> None:
        checkout = job.storage_shaman_checkout_id
        if self.erase_checkout and checkout:
            other = await self.machine.store.call(jobs.job_with_checkout, checkout, job.id)
            if other is None:
                await self.erase_checkout(checkout)
            else:  # only possible for jobs stored before checkouts were owned
                _log.warning("not erasing checkout %r of job %s: job %s refers to it too",
                             checkout[:200], job.uuid, other.uuid)
        await self.machine.drain()  # no log line may land in a folder we are removing
        await self.remove_job_files(job.uuid)
        task_uuids = [t.uuid for t in await self.machine.store.call(tasks.job_tasks, job.id)]
        await self.machine.store.call(jobs.delete_job, job.uuid)
        for task_uuid in task_uuids:
            self.machine.waiters.task_changed(task_uuid)
            self.machine.waiters.forget_task(task_uuid)
        self.machine.bus.emit(convert.job_update(job, None, was_deleted=True))
        _log.info("deleted job %s (%s)", job.name, job.uuid)

    async def _failed(self, job: Any, exc: Exception) -> None:
        cause = (str(exc) or type(exc).__name__)[:500]
        previous = self._failures.get(job.uuid)
        attempts = previous.attempts + 1 if previous else 1
        delay = min(self.retry_delay * 2 ** min(attempts - 1, 20), self.max_retry_delay)
        self._failures[job.uuid] = _DeletionFailure(attempts, cause, time.monotonic() + delay)
        if previous is not None and previous.cause == cause:
            _log.debug("deleting job %s failed again (%d times): %s", job.uuid, attempts, cause)
            return
        _log.error("could not delete job %s (%s): %s; will retry in %.0f s", job.name, job.uuid, cause,
                   delay, exc_info=exc if previous is None else None)
        try:
            await self.machine.run(_report_deletion_failure_sync, job.uuid, cause)
        except Exception as report_exc:  # noqa: BLE001 - the store may be what failed
            _log.debug("could not note the deletion failure on job %s: %s", job.uuid, report_exc)


def _report_deletion_failure_sync(fx: Effects, now: dt.datetime, job_uuid: str, cause: str) -> None:
    job = jobs.fetch_job(job_uuid)
    job.activity = f"Deleting this job failed, will retry: {cause}"
    jobs.update_job(job.id, activity=job.activity)
    fx.job_changed(job, None)


class SleepScheduler:
    """Turns sleep schedules into status requests (asleep/awake) in the Manager's local time."""

    def __init__(self, machine: StatusMachine, interval: float = 30.0, local_tz: dt.tzinfo | None = None,
                 statuses: WorkerStatusMachine | None = None):
        self.machine, self.interval, self.local_tz = machine, interval, local_tz
        self.statuses = statuses or WorkerStatusMachine()

    async def run(self) -> None:
        # Poked when a schedule is saved, so a changed schedule applies at once.
        await run_periodic("sleep schedule check", lambda: self.interval, self.check,
                           self.machine.waiters.schedules)

    async def check(self) -> None:
        local_now = self.machine.clock.now().astimezone(self.local_tz)
        await self.machine.run(_apply_schedules_sync, self.statuses, local_now)


def _apply_schedules_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine,
                          local_now: dt.datetime) -> None:
    for sched, worker in workers.due_sleep_schedules(now):
        window = schedule.parse_window(True, sched.days_of_week, sched.start_time, sched.end_time)
        wanted = W.ASLEEP if schedule.should_sleep(local_now, window) else W.AWAKE
        nxt = schedule.next_check(local_now, window).astimezone(dt.UTC).replace(tzinfo=None)
        workers.set_sleep_schedule_next_check(sched.id, nxt)
        statuses.requested_by_schedule(fx, worker, wanted, now)


class FarmStatusService:
    """Computes the farm status; broadcasts it when it changes (checked on job/worker events)."""

    def __init__(self, store: Store, bus: ev.EventBus, interval: float = 30.0):
        self.store, self.bus, self.interval = store, bus, interval
        self.status = F.STARTING
        self._poke = Wakeup()
        bus.add_listener(self._on_event)

    def _on_event(self, event: ev.Event) -> None:
        if event.name in (ev.JOB_DID_CHANGE, ev.WORKER_DID_CHANGE) and "previous_status" in event.data:
            self._poke.fire()

    async def run(self) -> None:
        await run_periodic("farm status check", lambda: self.interval, self.refresh, self._poke)

    async def refresh(self) -> F:
        job_counts = await self.store.call(jobs.count_active_jobs)
        worker_counts = await self.store.call(workers.status_counts)
        status = compute_farm_status(job_counts, worker_counts)
        if status != self.status:
            self.status = status
            self.bus.emit(FarmStatusUpdate(status))
        return status


def compute_farm_status(job_counts: dict[str, int], worker_counts: dict[str, int]) -> F:
    total_workers = sum(worker_counts.values())
    dead = worker_counts.get(W.OFFLINE, 0) + worker_counts.get(W.ERROR, 0)
    if total_workers == 0 or dead == total_workers:
        return F.INOPERATIVE
    awake = worker_counts.get(W.AWAKE, 0) > 0
    if job_counts.get(J.ACTIVE, 0) and awake:
        return F.ACTIVE
    if job_counts.get(J.ACTIVE, 0) or job_counts.get(J.QUEUED, 0):
        return F.WAITING
    if not awake and worker_counts.get(W.ASLEEP, 0):
        return F.ASLEEP
    return F.IDLE


class WalCheckpointer:
    """Truncates SQLite's write-ahead log now and then, so it does not grow without bound."""

    def __init__(self, store: Store, interval: float = 900.0):
        self.store, self.interval = store, interval

    async def run(self) -> None:
        await run_periodic("WAL checkpoint", self.interval, self.store.checkpoint, first_delay=self.interval)
