"""`StatusMachine`: runs status-machine code on the store thread, then carries out its effects."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from app.common.clock import Clock
from app.common.events import EventBus
from app.manager.persistence.db import NotNow, Store
from app.manager.runtime.loop_turns import LoopTurns
from app.manager.scheduling.waiters import Waiters
from app.manager.state_machine.effects import Effects
from app.manager.workers.last_seen import LastSeen
from app.manager.workers.task_runs import TaskRunLog

_log = logging.getLogger(__name__)
R = TypeVar("R")


class TaskLogWriter(Protocol):
    async def append(self, job_id: str, task_id: str, text: str) -> None: ...

    def queue_manager_lines(self, lines: list[tuple[str, str, str]]) -> None: ...

    async def drain(self) -> None: ...


class StatusMachine:
    def __init__(self, store: Store, bus: EventBus, logs: TaskLogWriter, waiters: Waiters, clock: Clock):
        self.store, self.bus, self.logs, self.waiters, self.clock = store, bus, logs, waiters, clock
        self.last_seen = LastSeen(self.run_quick)
        self.runs = TaskRunLog(self.run_quick)
        self.turns = LoopTurns()

    async def run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run `fn(fx, now, *args)` in one store transaction, then apply the collected effects."""
        fx = Effects()
        now = self.clock.now().replace(tzinfo=None)
        result = await self.store.call(fn, fx, now, *args, **kwargs)
        self.apply(fx)
        return result

    async def run_quick(self, fn: Callable[..., R], *args: Any, turn_first: bool = False, **kwargs: Any) -> R:
        """`run` for short, indexed work (the worker hot path): on the loop when the store is idle.

        In turn with everything else on the loop: a few of these per loop iteration (`LoopTurns`);
        `turn_first` for running work (task updates), which goes before sign-ups and claims. The
        calls of one iteration share one commit (`Store.try_quick_grouped`); this returns after it.
        """
        await self.turns.turn(turn_first)
        fx = Effects()
        now = self.clock.now().replace(tzinfo=None)
        turns = self.turns
        after = functools.partial(self.apply, fx)
        # While calls let through before this one wait for the store thread, wait behind them:
        # a later call must not take the task an earlier (longer waiting) worker was woken for.
        quick = (NotNow.STORE_BUSY if turns.stalled
                 else self.store.try_quick_grouped(fn, fx, now, *args, after_commit=after, **kwargs))
        if quick is NotNow.STORE_BUSY:  # nothing was done; the store thread is working
            turns.stalled += 1
            try:
                while quick is NotNow.STORE_BUSY:
                    await self.store.wait_idle()
                    # Back in turn (not all in one iteration), ahead of calls that came meanwhile.
                    await turns.turn(turn_first, again=True)
                    quick = self.store.try_quick_grouped(fn, fx, now, *args, after_commit=after, **kwargs)
            finally:
                turns.stalled -= 1
            # Calls that stalled behind this one (with the store thread idle) wait for no thread.
            self.store.wake_idle_waiters()
        if quick is NotNow.USE_THREAD:  # nothing was kept: run it on the store thread, with fresh effects
            fx = Effects()
            result = await self.store.call(fn, fx, now, *args, **kwargs)
            self.apply(fx)
            return result
        # Shielded: the commit is shared, and a cancelled caller must not cancel the others'.
        await asyncio.shield(quick.committed)  # the effects were applied by then
        return quick.result

    def apply(self, fx: Effects) -> None:
        for name, data in fx.events:
            self.bus.publish(name, data)
        for task_uuid in fx.watched_tasks:
            self.waiters.task_changed(task_uuid)
        for worker_uuid in fx.watched_workers:
            self.waiters.worker_changed(worker_uuid)
        if fx.work_available:
            self.waiters.work_available()
        if fx.jobs_to_delete:
            self.waiters.deletion.fire()
        if fx.runs:
            self.runs.note(fx.runs)
        if fx.log_lines:
            # Queued in order, written by the task-log thread; the API answer does not wait.
            try:
                self.logs.queue_manager_lines(fx.log_lines)
            except Exception:  # noqa: BLE001 - a log line must never break a status change
                _log.exception("queueing task log lines failed")

    async def drain(self) -> None:
        """Write pending "last seen" times and task runs, wait for pending log writes (shutdown, tests)."""
        await self.last_seen.close()
        await self.runs.close()
        await self.logs.drain()
