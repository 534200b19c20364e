"""`ManagerConnection`: one watched Manager, as Qt signals.

It owns a `ManagerClient` and the live event stream. On (re)connecting it fetches a snapshot
(jobs, workers, tags, farm status) and emits `*_reset`; afterwards it emits deltas from the event
stream, batched every 100 ms so a burst of events costs one model update per batch. When the
stream drops it says so (`state_changed`), waits with backoff, reconnects and fetches the snapshot
again, so nothing the dashboard shows stays stale. All network work runs on the asyncio loop
(qasync), never blocking the UI thread.

Events arrive as the typed payloads of `app.api.events` and are passed on as they are: the
snapshot's `Job`s and `WorkerSummary`s, the `JobUpdate`, `WorkerUpdate` and `WorkerVitalsUpdate`
events (the dashboard's `JobRow`s and `WorkerRow`s hold them) and the `TaskUpdate` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.api.errors import ApiError, ClientClosed
from app.api.events import (
    ConfigUpdate,
    FarmStatusUpdate,
    JobUpdate,
    LastRenderedUpdate,
    StreamGap,
    TaskLogUpdate,
    TaskUpdate,
    WorkerTagUpdate,
    WorkerUpdate,
    WorkerVitalsUpdate,
)
from app.api.jobs import Job
from app.api.stream import EventStream
from app.ui.aio import spawn

_log = logging.getLogger(__name__)

CONNECTING, CONNECTED, DISCONNECTED = "connecting", "connected", "disconnected"
SNAPSHOT_PAGE = 500
SNAPSHOT_MAX_JOBS = 20_000


class ManagerConnection(QObject):
    state_changed = Signal(str, str)          # state, message
    jobs_reset = Signal(list)                 # the Manager's jobs (`Job`)
    jobs_changed = Signal(list)               # batched job events (`JobUpdate`)
    workers_reset = Signal(list)              # the Manager's workers (`WorkerSummary`)
    workers_changed = Signal(list)            # batched worker events (`WorkerUpdate`)
    vitals_changed = Signal(list)             # the newest `WorkerVitalsUpdate` of each worker that sent some
    tasks_changed = Signal(list)              # batched task events (`TaskUpdate`, all jobs)
    task_log_appended = Signal(str, str)      # task id, text
    last_rendered_changed = Signal(str)       # job id
    farm_status_changed = Signal(str)
    tags_changed = Signal(list)
    tag_deleted = Signal(str)                 # tag id
    job_tasks_stale = Signal(str)             # job id: many of its tasks changed at once (refetch them)
    snapshot_done = Signal()                  # every table was fetched again (after a (re)connection)
    config_changed = Signal()                 # the Manager's configuration (its variables) changed

    def __init__(self, url: str, label: str = "", client: ManagerClient | None = None, parent=None):
        super().__init__(parent)
        self.url = url.rstrip("/")
        self.label = label or self.url
        self.client = client or ManagerClient(self.url)
        self.state = DISCONNECTED
        self.farm_status = "unknown"
        self.tags: dict[str, str] = {}        # tag id → name
        self._task: asyncio.Task | None = None
        self._stream: EventStream | None = None
        self._pending_tasks: list[TaskUpdate] = []
        self._pending_jobs: list[JobUpdate] = []
        self._pending_workers: list[WorkerUpdate] = []
        self._pending_vitals: dict[str, WorkerVitalsUpdate] = {}   # worker id → its newest vitals event
        self._flush_timer = QTimer(self)
        self._flush_timer.setInterval(100)
        self._flush_timer.timeout.connect(self._flush)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._task is None:
            self._task = spawn(self._run())
            self._flush_timer.start()

    def restart(self) -> None:
        """Reconnect (for example with a new client): the snapshot is fetched again."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self.start()

    async def stop(self) -> None:
        self._flush_timer.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None
        await self.client.close()

    def _set_state(self, state: str, message: str = "") -> None:
        if state != self.state or message:
            self.state = state
            self.state_changed.emit(state, message)

    async def _run(self) -> None:
        """Follow the Manager until stopped: snapshot on every (re)connection, deltas in between."""
        delay = 0.5
        while True:
            self._set_state(CONNECTING)
            self._stream = self.client.events(max_backoff_s=10.0)
            watcher = spawn(self._watch_connection(self._stream))
            try:
                await self._follow(self._stream)
                message = "the Manager closed the event stream"
            except asyncio.CancelledError:
                raise
            except ClientClosed:
                return  # its client was closed (stopped, or replaced by `restart`): nothing to follow
            except Exception as exc:  # noqa: BLE001 - a refused stream (token): say it, retry later
                message = _describe(exc, self.url)
            finally:
                if watcher is not None:
                    watcher.cancel()
                await self._stream.close()
                self._stream = None
            self._set_state(DISCONNECTED, message)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30.0)

    async def _follow(self, stream: EventStream) -> None:
        seen = 0
        # Closed here, on this loop, also when cancelled while awaiting a snapshot: left to the
        # garbage collector, the stream's own cleanup would run where it cannot await (a
        # "generator ignored GeneratorExit" traceback when the program quits).
        async with contextlib.aclosing(aiter(stream)) as items:
            async for item in items:
                if isinstance(item, StreamGap) or stream.connections != seen:
                    # A new connection, or events lost on this one: what is shown may be stale.
                    seen = stream.connections
                    await self._snapshot()
                    self._set_state(CONNECTED)
                    if isinstance(item, StreamGap):
                        continue
                self._dispatch(item.payload)

    async def _watch_connection(self, stream: EventStream) -> None:
        """Say 'disconnected' as soon as the stream drops; it reconnects (and re-fetches) by itself."""
        while True:
            await asyncio.sleep(0.25)
            if self.state == CONNECTED and not stream.connected.is_set():
                self._set_state(DISCONNECTED, f"lost the Manager at {self.url}")
            elif self.state == DISCONNECTED and stream.connected.is_set():
                self._set_state(CONNECTING)

    async def _snapshot(self) -> None:
        tags = await self.client.worker_tags()
        self.tags = {t.id: t.name for t in tags if t.id is not None}
        self.tags_changed.emit(list(self.tags.items()))
        jobs: list[Job] = []
        offset = 0
        while offset < SNAPSHOT_MAX_JOBS:
            page = await self.client.jobs_page(limit=SNAPSHOT_PAGE, offset=offset)
            jobs.extend(page.jobs)
            offset += SNAPSHOT_PAGE
            if offset >= page.total or not page.jobs:
                break
        workers = await self.client.workers()
        status = await self.client.farm_status()
        self._pending_tasks, self._pending_jobs, self._pending_workers = [], [], []
        self._pending_vitals.clear()
        self.jobs_reset.emit(jobs)
        self.workers_reset.emit(workers)
        self._set_farm_status(str(getattr(status, "value", status)))
        self.snapshot_done.emit()

    # --- events ----------------------------------------------------------------------------------
    def _dispatch(self, payload: Any) -> None:
        if isinstance(payload, JobUpdate):
            if payload.refresh_tasks and payload.id:
                self.job_tasks_stale.emit(payload.id)
            self._pending_jobs.append(payload)
        elif isinstance(payload, TaskUpdate):
            self._pending_tasks.append(payload)
        elif isinstance(payload, WorkerUpdate):
            self._pending_workers.append(payload)
        elif isinstance(payload, WorkerVitalsUpdate):
            # Up to one a second per worker: only the newest of a batch is worth drawing.
            if payload.id:
                self._pending_vitals[payload.id] = payload
        elif isinstance(payload, ConfigUpdate):
            self.config_changed.emit()
        elif isinstance(payload, TaskLogUpdate):
            self.task_log_appended.emit(payload.task_id, payload.log)
        elif isinstance(payload, LastRenderedUpdate):
            self.last_rendered_changed.emit(payload.job_id)
        elif isinstance(payload, FarmStatusUpdate):
            self._set_farm_status(str(payload.status))
        elif isinstance(payload, WorkerTagUpdate):
            self._tag_changed(payload)

    def _tag_changed(self, payload: WorkerTagUpdate) -> None:
        tag = payload.tag
        if payload.was_deleted:
            self.tags.pop(tag.id or "", None)
            if tag.id:
                self.tag_deleted.emit(tag.id)
        elif tag.id:
            self.tags[tag.id] = tag.name
        self.tags_changed.emit(list(self.tags.items()))

    def _flush(self) -> None:
        jobs, tasks, workers = self._pending_jobs, self._pending_tasks, self._pending_workers
        self._pending_jobs, self._pending_tasks, self._pending_workers = [], [], []
        vitals, self._pending_vitals = list(self._pending_vitals.values()), {}
        if jobs:
            self.jobs_changed.emit(jobs)
        if tasks:
            self.tasks_changed.emit(tasks)
        if workers:
            self.workers_changed.emit(workers)
        if vitals:
            self.vitals_changed.emit(vitals)

    def _set_farm_status(self, status: str) -> None:
        if status and status != self.farm_status:
            self.farm_status = status
            self.farm_status_changed.emit(status)

    # --- task log subscriptions --------------------------------------------------------------------
    async def follow_task_log(self, task_id: str) -> None:
        """Receive `task_log_appended` for this task (kept across reconnects).

        Returns once the subscription is on its way, so a tail fetched after it misses nothing.
        """
        if self._stream is not None:
            await self._stream.watch_task_log(task_id)

    def unfollow_task_log(self, task_id: str) -> None:
        if self._stream is not None:
            spawn(self._stream.unwatch_task_log(task_id))


def _describe(exc: BaseException, url: str) -> str:
    if isinstance(exc, ApiError):
        return str(exc)
    if isinstance(exc, (OSError, TimeoutError)):
        return f"cannot reach the Manager at {url}"
    text = str(exc) or type(exc).__name__
    return f"lost the Manager at {url}: {text}"
