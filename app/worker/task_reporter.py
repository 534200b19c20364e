"""Everything one task tells the Manager: log lines, activity, steps and status, in order.

Owns log batching: lines are buffered and sent as the `log` field of a task update once the
buffer exceeds `max_log_bytes` or its oldest line is `max_log_age_s` old, and whenever a
progress/status update goes out (the pending lines ride along). One sender coroutine sends
every update through the upstream buffer, so the Manager sees them in the order they were made,
while commands call the synchronous methods from their output loop without waiting on HTTP.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, Self

from app.api.models import WorkerTaskUpdate
from app.worker.aiotools import cancel_and_wait
from app.worker.upstream_buffer import SendResult

_log = logging.getLogger(__name__)


class UpdateSink(Protocol):
    """What the reporter needs from the upstream buffer."""

    async def send(self, task_id: str, payload: dict[str, Any]) -> SendResult: ...

    def add_rejection_listener(self, listener: Callable[[str], None]) -> Callable[[], None]: ...


class TaskReporter:
    """Ordered, batched task updates for one task. Use as `async with TaskReporter(...)`."""

    def __init__(
        self,
        sink: UpdateSink,
        task_id: str,
        *,
        max_log_bytes: int = 8 * 1024,
        max_log_age_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.task_id = task_id
        self._sink = sink
        self._max_log_bytes = max_log_bytes
        self._max_log_age_s = max_log_age_s
        self._clock = clock
        self._lines: list[str] = []
        self._log_bytes = 0
        self._oldest_line_at = 0.0
        self._outbox: asyncio.Queue[tuple[WorkerTaskUpdate | None, asyncio.Future[SendResult] | None]] = (
            asyncio.Queue()
        )
        self._sender: asyncio.Task[None] | None = None
        self._unsubscribe: Callable[[], None] | None = None
        #: Set when the Manager answered 404/409: the task is no longer ours; stop working on it.
        self.rejected = asyncio.Event()

    async def __aenter__(self) -> Self:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def start(self) -> None:
        self._unsubscribe = self._sink.add_rejection_listener(self._on_rejected)
        self._sender = asyncio.create_task(self._send_loop(), name=f"task-updates-{self.task_id}")

    async def close(self) -> None:
        """Stop sending. Updates not sent yet are dropped: call `flush()` first to keep them."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._sender is not None:
            sender, self._sender = self._sender, None
            await cancel_and_wait(sender)

    def _on_rejected(self, task_id: str) -> None:
        if task_id == self.task_id and not self.rejected.is_set():
            _log.info("task %s was taken away from this worker", task_id)
            self.rejected.set()

    @property
    def pending_lines(self) -> tuple[str, ...]:
        """Log lines not handed to the sender yet."""
        return tuple(self._lines)

    # Synchronous API for commands: enqueue and return immediately.

    def log(self, line: str) -> None:
        """Add one line to the task log (sent in batches)."""
        if not self._lines:
            self._oldest_line_at = self._clock()
            # Wake the sender so it starts the age timer for this batch.
            self._outbox.put_nowait((None, None))
        self._lines.append(line)
        self._log_bytes += len(line.encode("utf-8", errors="replace")) + 1
        if self._log_bytes >= self._max_log_bytes:
            self._enqueue(_NOTHING)

    def progress(self, *, activity: str | None = None, steps_completed: int | None = None) -> None:
        """Queue an activity and/or step-count update; pending log lines go along with it."""
        self._enqueue(WorkerTaskUpdate(activity=activity, steps_completed=steps_completed))

    # Awaitable API for the task runner: returns once the update was delivered or queued on disk.

    async def flush(self) -> SendResult:
        """Send the pending log lines now and wait until everything before them is out."""
        return await self.send(_NOTHING)

    async def send(self, update: WorkerTaskUpdate) -> SendResult:
        """Send `update` (with pending log lines) after all earlier updates; wait for the outcome."""
        future: asyncio.Future[SendResult] = asyncio.get_running_loop().create_future()
        self._enqueue(update, future)
        return await future

    def _take_log(self) -> str:
        text = "".join(line + "\n" for line in self._lines)
        self._lines.clear()
        self._log_bytes = 0
        return text

    def _enqueue(self, update: WorkerTaskUpdate, future: asyncio.Future[SendResult] | None = None) -> None:
        if self._lines:
            log = self._take_log()
            # Pending lines were written before this update's own log text, so they go first.
            update = dataclasses.replace(update, log=log + (update.log or ""))
        self._outbox.put_nowait((update, future))

    async def _send_loop(self) -> None:
        while True:
            try:
                async with asyncio.timeout(self._time_to_log_flush()):
                    payload, future = await self._outbox.get()
            except TimeoutError:
                if self._lines:
                    self._enqueue(_NOTHING)
                continue
            if payload is None:
                continue  # a wake-up: recompute the log flush deadline
            result = await self._deliver(payload)
            if future is not None and not future.done():
                future.set_result(result)

    def _time_to_log_flush(self) -> float | None:
        if not self._lines:
            return None
        return max(0.0, self._oldest_line_at + self._max_log_age_s - self._clock())

    async def _deliver(self, update: WorkerTaskUpdate) -> SendResult:
        if update == _NOTHING:
            return SendResult.DELIVERED  # a pure flush with nothing pending
        if self.rejected.is_set():
            # The Manager will refuse everything for this task now; don't bother it.
            return SendResult.REJECTED
        try:
            return await self._sink.send(self.task_id, update.to_json())
        except Exception:  # noqa: BLE001 - network errors are handled in the buffer; this is a bug
            _log.exception("sending update of task %s failed", self.task_id)
            return SendResult.DROPPED


#: An update that says nothing: a flush of the pending log lines, if any.
_NOTHING = WorkerTaskUpdate()
