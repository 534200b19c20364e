"""Task updates on their way to the Manager, surviving Manager outages and worker crashes.

Owns the on-disk queue `<data_dir>/tablao-worker-queue.sqlite`. Every task update goes through
`UpstreamBuffer.send`: while the Manager is reachable it is sent directly; after a network error
(or a 5xx) it is stored, and from then on *every* update is stored until the queue has drained,
so the Manager sees the updates in the order they were made. `run()` is the background flusher.
Queued updates answered 404/409 (task reassigned or deleted) are discarded with a log line.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from app.worker.aiotools import cancel_and_wait
from app.worker.client import ManagerRejected, ManagerUnreachable

_log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS task_updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    task_id TEXT NOT NULL,
    payload BLOB NOT NULL
)
"""
#: Statuses meaning "this task is not yours any more": nothing later will be accepted either.
TASK_GONE_STATUSES = (404, 409)


class TaskUpdateSender(Protocol):
    async def task_update(self, task_id: str, payload: dict[str, Any]) -> int: ...


class SendResult(enum.Enum):
    DELIVERED = "delivered"
    #: Stored on disk; the flusher will deliver it.
    QUEUED = "queued"
    #: The Manager answered 404/409: the task was reassigned or deleted.
    REJECTED = "rejected"
    #: The Manager refused it for another reason (bad request, unknown worker); logged and dropped.
    DROPPED = "dropped"


class _QueueDB:
    """The SQLite queue. Every method runs on one private thread (sqlite3 objects stay there)."""

    def __init__(self, path: Path):
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def open(self) -> int:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(self.path, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA busy_timeout=5000")
        self._conn.execute(_SCHEMA)
        return self.count()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None, "queue database is not open"
        return self._conn

    def count(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM task_updates").fetchone()[0])

    def push(self, task_id: str, payload: bytes) -> None:
        created = datetime.now(UTC).isoformat()
        self._db().execute(
            "INSERT INTO task_updates (created, task_id, payload) VALUES (?, ?, ?)",
            (created, task_id, payload),
        )

    def first(self) -> tuple[int, str, bytes] | None:
        row = (
            self._db().execute("SELECT id, task_id, payload FROM task_updates ORDER BY id LIMIT 1").fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def delete(self, row_id: int) -> None:
        self._db().execute("DELETE FROM task_updates WHERE id = ?", (row_id,))


class UpstreamBuffer:
    """Delivers task updates in order, queueing them on disk while the Manager is unreachable.

    Call `open()` first. `run()` retries queued updates in the background until cancelled;
    `flush(timeout_s)` delivers what it can right now (used at shutdown and by `--flush-updates`).
    """

    def __init__(
        self,
        sender: TaskUpdateSender,
        db_path: Path,
        retry_min_s: float = 1.0,
        retry_max_s: float = 2.0,
    ):
        self._sender = sender
        self._db = _QueueDB(db_path)
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="upstream-queue")
        self._retry_min_s = retry_min_s
        self._retry_max_s = retry_max_s
        # Guards "is the queue empty?" together with direct sends, so nothing overtakes a queued update.
        self._send_lock = asyncio.Lock()
        self._drain_lock = asyncio.Lock()
        self._queued_mode = False
        self._wake = asyncio.Event()
        self._rejection_listeners: list[Callable[[str], None]] = []

    async def _call(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        pending = await self._call(self._db.open)
        if pending:
            _log.info("found %d queued task updates from an earlier run; will deliver them first", pending)
            self._queued_mode = True
            self._wake.set()

    async def close(self) -> None:
        await self._call(self._db.close)
        self._executor.shutdown(wait=False)

    async def queue_size(self) -> int:
        return int(await self._call(self._db.count))

    def add_rejection_listener(self, listener: Callable[[str], None]) -> Callable[[], None]:
        """Call `listener(task_id)` when any update of a task is answered 404/409; returns an unsubscriber."""
        self._rejection_listeners.append(listener)
        return lambda: self._rejection_listeners.remove(listener)

    def _notify_rejected(self, task_id: str) -> None:
        for listener in list(self._rejection_listeners):
            try:
                listener(task_id)
            except Exception:  # noqa: BLE001 - a listener bug must not stop delivery
                _log.exception("task rejection listener failed")

    async def send(self, task_id: str, payload: dict[str, Any]) -> SendResult:
        """Send one update now, or queue it if the Manager is unreachable or older updates wait."""
        async with self._send_lock:
            if self._queued_mode:
                await self._push(task_id, payload)
                return SendResult.QUEUED
            try:
                status = await self._sender.task_update(task_id, payload)
            except ManagerUnreachable as exc:
                _log.warning("manager unreachable (%s); queueing task updates", exc)
                await self._push(task_id, payload)
                self._queued_mode = True
                return SendResult.QUEUED
            except ManagerRejected as exc:
                status = exc.status
            return self._judge(task_id, status, queued=False)

    def _judge(self, task_id: str, status: int, queued: bool) -> SendResult:
        what = "queued update" if queued else "update"
        if 200 <= status < 300:
            return SendResult.DELIVERED
        if status in TASK_GONE_STATUSES:
            _log.info(
                "manager refused %s of task %s with %d: task no longer assigned; discarding",
                what,
                task_id,
                status,
            )
            self._notify_rejected(task_id)
            return SendResult.REJECTED
        _log.error("manager refused %s of task %s with %d; discarding", what, task_id, status)
        return SendResult.DROPPED

    async def _push(self, task_id: str, payload: dict[str, Any]) -> None:
        await self._call(self._db.push, task_id, json.dumps(payload).encode())
        self._wake.set()

    async def run(self) -> None:
        """Background flusher: deliver queued updates whenever there are any, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._drain(deadline=None)

    async def flush(self, timeout_s: float) -> bool:
        """Try to deliver all queued updates within `timeout_s`; True when the queue is empty."""
        deadline = time.monotonic() + timeout_s
        try:
            async with asyncio.timeout(timeout_s + 0.5):
                return await self._drain(deadline)
        except TimeoutError:
            return False

    async def _drain(self, deadline: float | None) -> bool:
        async with self._drain_lock:
            delay = self._retry_min_s
            while True:
                row = await self._call(self._db.first)
                if row is None:
                    if await self._leave_queued_mode():
                        return True
                    continue
                if await self._deliver_row(*row):
                    delay = self._retry_min_s
                    continue
                if deadline is not None and time.monotonic() + delay > deadline:
                    return False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._retry_max_s)

    async def _leave_queued_mode(self) -> bool:
        async with self._send_lock:
            if await self._call(self._db.count):
                return False  # something was queued meanwhile; keep draining
            if self._queued_mode:
                _log.info("delivered all queued task updates; sending directly again")
            self._queued_mode = False
            return True

    async def _deliver_row(self, row_id: int, task_id: str, raw: bytes) -> bool:
        """Try one queued update; False means "manager unreachable, retry later"."""
        try:
            payload = json.loads(raw)
        except ValueError:
            _log.error("discarding corrupt queued update %d of task %s", row_id, task_id)
            await self._call(self._db.delete, row_id)
            return True
        try:
            status = await self._sender.task_update(task_id, payload)
        except ManagerUnreachable as exc:
            _log.debug("still cannot deliver queued updates: %s", exc)
            return False
        except ManagerRejected as exc:
            status = exc.status
        self._judge(task_id, status, queued=True)
        await self._call(self._db.delete, row_id)
        return True


async def open_buffer(sender: TaskUpdateSender, db_path: Path, **kwargs: Any) -> UpstreamBuffer:
    """Create and open a buffer (helper for composition roots and tests)."""
    buffer = UpstreamBuffer(sender, db_path, **kwargs)
    await buffer.open()
    return buffer


@contextlib.asynccontextmanager
async def running_buffer(
    sender: TaskUpdateSender, db_path: Path, **kwargs: Any
) -> AsyncIterator[UpstreamBuffer]:
    """An open buffer with its flusher running; closes both on exit."""
    buffer = await open_buffer(sender, db_path, **kwargs)
    flusher = asyncio.create_task(buffer.run(), name="upstream-flusher")
    try:
        yield buffer
    finally:
        await cancel_and_wait(flusher)
        await buffer.close()
