"""The worker's life: a table from `WorkerStatus` to the coroutine that lives in that status.

`_enter_awake` asks for tasks (long-polling a Tablao Manager with `X-Tablao-Wait`, falling back to a
short back-off against a stock Flamenco Manager that answers at once), runs each task while
watching `may-i-run`, and asks for the next task as soon as one ends. `_enter_asleep` waits for a
status change. `_enter_offline` and `_enter_restart` end the machine with an exit code. Statuses
without a handler (starting, error, testing, anything new) fall back to asleep. The Manager's
requested status is authoritative. A Manager that forgets this worker (401/403) makes it sign on
again, registering anew.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from app.api.enums import WorkerStatus
from app.api.models import AssignedTask, MayKeepRunning
from app.worker import registration
from app.worker.aiotools import cancel_and_wait
from app.worker.backoff import Backoff, jittered
from app.worker.client import AuthRejected, ManagerRejected, ManagerUnreachable, WorkerClient
from app.worker.config import WorkerConfig
from app.worker.task_runner import TaskOutcome

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Exit:
    """Leave the state machine; the worker process exits with `code`."""

    code: int


Transition = WorkerStatus | Exit
StateHandler = Callable[[], Awaitable[Transition]]


class TaskRunnerLike(Protocol):
    """What the state machine needs from the task runner (see `TaskRunner`)."""

    async def run(self, task: AssignedTask) -> TaskOutcome: ...


@dataclass(frozen=True)
class Timings:
    """Delays of the state machine, in seconds; tests shrink them."""

    #: Back-off after a 204 that came back much faster than the long-poll asked (stock Manager).
    no_task_backoff: float = 1.0
    #: Poll interval while asleep when the Manager does not hold the state request.
    asleep_poll: float = 3.0
    #: Re-poll interval of may-i-run when the Manager answers "yes" at once.
    may_i_run_poll: float = 1.0
    error_backoff_min: float = 0.5
    error_backoff_max: float = 5.0


class WorkerStateMachine:
    """Runs the worker until the Manager sends it offline or to restart; `run()` returns the exit code."""

    def __init__(
        self,
        client: WorkerClient,
        config: WorkerConfig,
        runner: TaskRunnerLike,
        timings: Timings | None = None,
        on_asleep: Callable[[], Awaitable[None]] | None = None,
    ):
        self._client = client
        self._config = config
        self._runner = runner
        self._t = timings or Timings()
        #: Called on falling asleep (the service releases its warm Blender there).
        self._on_asleep = on_asleep
        self._handlers: dict[WorkerStatus, StateHandler] = {
            WorkerStatus.AWAKE: self._enter_awake,
            WorkerStatus.ASLEEP: self._enter_asleep,
            WorkerStatus.OFFLINE: self._enter_offline,
            WorkerStatus.RESTART: self._enter_restart,
        }
        self.status: WorkerStatus | None = None
        self.signed_on = False
        self.current_task: AssignedTask | None = None

    def _backoff(self) -> Backoff:
        return Backoff(self._t.error_backoff_min, self._t.error_backoff_max)

    async def run(self) -> int:
        status: Transition = await self._startup()
        while not isinstance(status, Exit):
            handler = self._handlers.get(status)
            if handler is None:
                _log.info("no handler for status %s; going to sleep", status)
                handler = self._enter_asleep
            try:
                status = await handler()
            except AuthRejected as exc:
                _log.warning("manager rejected this worker's credentials (%s); signing on again", exc)
                self.signed_on = False
                status = await self._startup()
        return status.code

    async def _startup(self) -> WorkerStatus:
        status = await registration.sign_on(self._client, self._config, self._backoff())
        self.signed_on = True
        return status

    async def _ack(self, status: WorkerStatus) -> None:
        """Tell the Manager we are now in `status`, retrying network errors."""
        backoff = self._backoff()
        while True:
            try:
                await self._client.state_changed(status)
                break
            except ManagerUnreachable as exc:
                await asyncio.sleep(backoff.failed(_log.warning, "cannot report status %s (%s)", status, exc))
            except ManagerRejected as exc:
                if isinstance(exc, AuthRejected):
                    raise
                # Retrying will not change the Manager's mind; the status loop finds out what it wants.
                _log.warning("manager refused status %s: %s", status, exc)
                break
        if self.status != status:
            _log.info("worker status %s -> %s", self.status, status)
        self.status = status

    async def _enter_awake(self) -> Transition:
        await self._ack(WorkerStatus.AWAKE)
        backoff = self._backoff()
        wait_s = self._config.task_wait_s
        while True:
            asked_at = time.monotonic()
            try:
                offer = await self._client.ask_for_task(wait_s=wait_s)
            except ManagerUnreachable as exc:
                await self._pause("cannot ask for a task", exc, backoff)
                continue
            except ManagerRejected as exc:
                if isinstance(exc, AuthRejected):
                    raise
                await self._pause("manager refused to give a task", exc, backoff)
                continue
            backoff.reset()
            if offer is None:
                if time.monotonic() - asked_at < wait_s / 2:
                    # A stock Flamenco Manager ignores X-Tablao-Wait and answers at once; don't hammer it.
                    await asyncio.sleep(jittered(self._t.no_task_backoff))
                continue
            if offer.status_requested is not None:
                _log.info("manager requests status %s", offer.status_requested)
                return offer.status_requested
            if offer.not_awake:
                return await self._recheck_state()
            assert offer.task is not None
            next_status = await self._run_task(offer.task)
            if next_status is not None:
                return next_status

    async def _pause(self, what: str, exc: Exception, backoff: Backoff) -> None:
        await asyncio.sleep(backoff.failed(_log.warning, "%s (%s)", what, exc))

    async def _recheck_state(self) -> Transition:
        """409 on asking for work: the Manager does not see us awake. Ask what it wants instead."""
        requested = await self._requested_status()
        if requested is not None:
            return requested
        # No change pending, yet not awake on the Manager: announce awake again, without spinning.
        await asyncio.sleep(jittered(self._t.no_task_backoff))
        return WorkerStatus.AWAKE

    async def _requested_status(self) -> WorkerStatus | None:
        try:
            return await self._client.state()
        except ManagerUnreachable as exc:
            _log.warning("cannot fetch requested status: %s", exc)
            return None
        except ManagerRejected as exc:
            if isinstance(exc, AuthRejected):
                raise
            _log.warning("cannot fetch requested status: %s", exc)
            return None

    async def _run_task(self, task: AssignedTask) -> WorkerStatus | None:
        """Run `task` while watching may-i-run; return a status to go to, or None to keep working."""
        self.current_task = task
        runner = asyncio.create_task(self._runner.run(task), name=f"task-{task.uuid}")
        watcher = asyncio.create_task(self._watch_may_i_run(task.uuid), name=f"may-i-run-{task.uuid}")
        try:
            await asyncio.wait({runner, watcher}, return_when=asyncio.FIRST_COMPLETED)
            if runner.done():
                self._log_outcome(task, runner)
                return None
            if watcher.exception() is not None:
                _log.error(
                    "may-i-run watcher crashed; finishing task %s unwatched",
                    task.uuid,
                    exc_info=watcher.exception(),
                )
                await asyncio.wait({runner})
                self._log_outcome(task, runner)
                return None
            verdict = watcher.result()
            _log.warning(
                "task %s: manager says stop (%s); aborting", task.uuid, verdict.reason or "no reason"
            )
            await cancel_and_wait(runner)
            if verdict.status_change_requested:
                return await self._requested_status()
            return None
        finally:
            self.current_task = None
            await cancel_and_wait(watcher, runner)

    @staticmethod
    def _log_outcome(task: AssignedTask, runner: asyncio.Task[TaskOutcome]) -> None:
        if runner.cancelled():
            return
        exc = runner.exception()
        if exc is not None:
            _log.error("task %s: runner crashed", task.uuid, exc_info=exc)
        else:
            _log.info("task %s: %s", task.uuid, runner.result().value)

    async def _watch_may_i_run(self, task_id: str) -> MayKeepRunning:
        """Return the first "no" from may-i-run. Errors count as "yes" (don't kill work over a hiccup)."""
        backoff = Backoff(self._t.may_i_run_poll, 10.0)
        wait_s = self._config.may_i_run_wait_s
        while True:
            asked_at = time.monotonic()
            try:
                answer = await self._client.may_i_run(task_id, wait_s=wait_s)
            except (ManagerUnreachable, ManagerRejected) as exc:
                _log.debug("may-i-run for task %s failed (%s); assuming yes", task_id, exc)
                await asyncio.sleep(backoff.next_delay())
                continue
            if not answer.may_keep_running:
                return answer
            backoff.reset()
            if time.monotonic() - asked_at < wait_s / 2:
                await asyncio.sleep(jittered(self._t.may_i_run_poll))

    async def _enter_asleep(self) -> Transition:
        await self._ack(WorkerStatus.ASLEEP)
        if self._on_asleep is not None:
            await self._on_asleep()
        backoff = self._backoff()
        wait_s = self._config.task_wait_s
        while True:
            asked_at = time.monotonic()
            try:
                requested = await self._client.state(wait_s=wait_s)
            except (ManagerUnreachable, ManagerRejected) as exc:
                if isinstance(exc, AuthRejected):
                    raise
                await self._pause("cannot check for a status change", exc, backoff)
                continue
            backoff.reset()
            if requested is not None and requested != WorkerStatus.ASLEEP:
                _log.info("manager requests status %s", requested)
                return requested
            if time.monotonic() - asked_at < wait_s / 2:
                await asyncio.sleep(jittered(self._t.asleep_poll))

    async def _enter_offline(self) -> Transition:
        _log.info("manager asks this worker to go offline")
        self.status = WorkerStatus.OFFLINE
        return Exit(0)

    async def _enter_restart(self) -> Transition:
        _log.info("manager asks this worker to restart (exit code %d)", self._config.restart_exit_code)
        self.status = WorkerStatus.RESTART
        return Exit(self._config.restart_exit_code)
