"""`StatusMachine`: runs status-machine code on the store thread, then carries out its effects."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from app.common.clock import Clock
from app.common.events import EventBus
from app.manager.persistence.db import NOT_NOW, Store
from app.manager.state_machine.effects import Effects
from app.manager.waiters import Waiters

_log = logging.getLogger(__name__)
R = TypeVar("R")


class TaskLogWriter(Protocol):
    async def write_manager_line(self, job_id: str, task_id: str, line: str) -> None: ...


class StatusMachine:
    def __init__(self, store: Store, bus: EventBus, logs: TaskLogWriter, waiters: Waiters, clock: Clock):
        self.store, self.bus, self.logs, self.waiters, self.clock = store, bus, logs, waiters, clock
        self._log_tasks: set[asyncio.Task] = set()

    async def run(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run `fn(fx, now, *args)` in one store transaction, then apply the collected effects."""
        fx = Effects()
        now = self.clock.now().replace(tzinfo=None)
        result = await self.store.call(fn, fx, now, *args, **kwargs)
        self.apply(fx)
        return result

    async def run_quick(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """`run` for short, indexed work (the worker hot path): on the loop when the store is idle."""
        fx = Effects()
        now = self.clock.now().replace(tzinfo=None)
        result = self.store.try_quick(fn, fx, now, *args, **kwargs)
        if result is NOT_NOW:  # nothing was done: run it on the store thread, with fresh effects
            fx = Effects()
            result = await self.store.call(fn, fx, now, *args, **kwargs)
        self.apply(fx)
        return result  # type: ignore[return-value]

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
        if fx.log_lines:
            # Log writes must not hold up the API answer, but must keep their order.
            task = asyncio.create_task(self._write_lines(fx.log_lines))
            self._log_tasks.add(task)
            task.add_done_callback(self._log_tasks.discard)

    async def _write_lines(self, lines: list[tuple[str, str, str]]) -> None:
        for job_uuid, task_uuid, line in lines:
            try:
                await self.logs.write_manager_line(job_uuid, task_uuid, line)
            except Exception:  # noqa: BLE001 - a log line must never break a status change
                _log.exception("writing task log line failed")

    async def drain(self) -> None:
        """Wait for pending log writes (shutdown, tests)."""
        while self._log_tasks:
            await asyncio.gather(*list(self._log_tasks), return_exceptions=True)
