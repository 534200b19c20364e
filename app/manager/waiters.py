"""Long-poll support: workers waiting for work, and tasks whose runners wait for a changed answer.

A waiter takes a generation number, checks its condition, and sleeps until the generation moves
on or its timeout ends. Notification is cheap (one counter and an Event swap), so the state machine
can notify on every change without knowing who listens.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class _Signal:
    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def fire(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, generation: int, timeout: float) -> bool:
        """Wait until the generation differs from `generation`; False on timeout."""
        if self.generation != generation:
            return True
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the event fires, which left the Manager's shutdown waiting (seen in tests).
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
            return True
        except TimeoutError:
            return False


class Waiters:
    def __init__(self) -> None:
        self.work = _Signal()
        self.deletion = _Signal()
        self.schedules = _Signal()
        self._tasks: dict[str, _Signal] = defaultdict(_Signal)
        self._workers: dict[str, _Signal] = defaultdict(_Signal)

    def work_available(self) -> None:
        self.work.fire()

    def task_changed(self, task_uuid: str) -> None:
        sig = self._tasks.get(task_uuid)
        if sig is not None:
            sig.fire()

    def worker_changed(self, worker_uuid: str) -> None:
        sig = self._workers.get(worker_uuid)
        if sig is not None:
            sig.fire()

    def task_signal(self, task_uuid: str) -> _Signal:
        return self._tasks[task_uuid]

    def worker_signal(self, worker_uuid: str) -> _Signal:
        return self._workers[worker_uuid]

    def forget_task(self, task_uuid: str) -> None:
        self._tasks.pop(task_uuid, None)
