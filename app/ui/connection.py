"""`ManagerConnection`: one watched Manager, as Qt signals.

It owns a `ManagerClient` and the live event stream. On (re)connecting it fetches a snapshot
(jobs, workers, tags, farm status) and emits `*_reset`; afterwards it emits deltas from the event
stream, batched every 100 ms so a burst of events costs one model update per batch. When the
stream drops it says so (`state_changed`), waits with backoff, reconnects and fetches the snapshot
again, so nothing the dashboard shows stays stale. All network work runs on the asyncio loop
(qasync), never blocking the UI thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.api.errors import ApiError
from app.common import events as ev
from app.ui.aio import spawn
from app.ui.models.columns import MANAGER

_log = logging.getLogger(__name__)

CONNECTING, CONNECTED, DISCONNECTED = "connecting", "connected", "disconnected"
SNAPSHOT_PAGE = 500
SNAPSHOT_MAX_JOBS = 20_000


class ManagerConnection(QObject):
    state_changed = Signal(str, str)          # state, message
    jobs_reset = Signal(list)
    jobs_changed = Signal(list)               # batched job deltas
    workers_reset = Signal(list)
    workers_changed = Signal(list)
    tasks_changed = Signal(list)              # batched task deltas (all jobs)
    task_log_appended = Signal(str, str)      # task id, text
    last_rendered_changed = Signal(str)       # job id
    farm_status_changed = Signal(str)
    tags_changed = Signal(list)

    def __init__(self, url: str, label: str = "", client: ManagerClient | None = None, parent=None):
        super().__init__(parent)
        self.url = url.rstrip("/")
        self.label = label or self.url
        self.client = client or ManagerClient(self.url)
        self.state = DISCONNECTED
        self.farm_status = "unknown"
        self.tags: dict[str, str] = {}        # tag id → name
        self._task: asyncio.Task | None = None
        self._ws = None
        self._log_tasks: set[str] = set()
        self._pending: dict[str, list[dict[str, Any]]] = {"job": [], "task": [], "worker": []}
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
        delay = 0.5
        while True:
            self._set_state(CONNECTING)
            try:
                await self._session()
                message = "the Manager closed the event stream"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure means: show it, retry later
                message = _describe(exc, self.url)
            else:
                delay = 0.5
            self._set_state(DISCONNECTED, message)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _session(self) -> None:
        http = self.client._http()
        url = self.client.base_url + "/api/v3/tablao/events"
        async with http.ws_connect(url, heartbeat=15.0) as ws:
            self._ws = ws
            try:
                for task_id in self._log_tasks:
                    await ws.send_json({"op": "subscribe", "task_log": task_id})
                await self._snapshot()  # after subscribing: no change between the two is missed
                self._set_state(CONNECTED)
                async for msg in ws:
                    if msg.type.name == "TEXT":
                        self._dispatch(json.loads(msg.data))
                    elif msg.type.name in ("CLOSED", "ERROR", "CLOSING"):
                        break
            finally:
                self._ws = None

    async def _snapshot(self) -> None:
        tags = await self.client.request("GET", "/api/v3/worker-mgt/tags")
        self.tags = {t["id"]: t["name"] for t in (tags or {}).get("tags", [])}
        self.tags_changed.emit(list(self.tags.items()))
        jobs: list[dict[str, Any]] = []
        offset = 0
        while offset < SNAPSHOT_MAX_JOBS:
            page = await self.client.jobs_page(limit=SNAPSHOT_PAGE, offset=offset)
            jobs.extend(page["jobs"])
            offset += SNAPSHOT_PAGE
            if offset >= page.get("total", 0) or not page["jobs"]:
                break
        workers = await self.client.workers()
        status = await self.client.farm_status()
        for kind in self._pending.values():
            kind.clear()
        self.jobs_reset.emit([self._mark_job(j) for j in jobs])
        self.workers_reset.emit([self._mark(w) for w in workers])
        self._set_farm_status(status)

    # --- events ----------------------------------------------------------------------------------
    def _dispatch(self, message: dict[str, Any]) -> None:
        kind, data = message.get("type"), message.get("data") or {}
        if kind == ev.JOB_DID_CHANGE:
            self._pending["job"].append(self._mark_job(data))
        elif kind == ev.TASK_DID_CHANGE:
            self._pending["task"].append(data)
        elif kind == ev.WORKER_DID_CHANGE:
            self._pending["worker"].append(self._mark(data))
        elif kind == ev.TASK_LOG_DID_APPEND:
            self.task_log_appended.emit(str(data.get("task_id", "")), str(data.get("log", "")))
        elif kind == ev.LAST_RENDERED_DID_CHANGE:
            self.last_rendered_changed.emit(str(data.get("job_id", "")))
        elif kind == ev.FARM_STATUS_DID_CHANGE:
            self._set_farm_status(str(data.get("status", "")))
        elif kind == ev.WORKER_TAG_DID_CHANGE:
            tag = data.get("tag") or {}
            if data.get("was_deleted"):
                self.tags.pop(tag.get("id"), None)
            elif tag.get("id"):
                self.tags[tag["id"]] = tag.get("name", "")
            self.tags_changed.emit(list(self.tags.items()))

    def _flush(self) -> None:
        jobs, tasks, workers = self._pending["job"], self._pending["task"], self._pending["worker"]
        self._pending = {"job": [], "task": [], "worker": []}
        if jobs:
            self.jobs_changed.emit(jobs)
        if tasks:
            self.tasks_changed.emit(tasks)
        if workers:
            self.workers_changed.emit(workers)

    def _set_farm_status(self, status: str) -> None:
        if status and status != self.farm_status:
            self.farm_status = status
            self.farm_status_changed.emit(status)

    def _mark(self, row: dict[str, Any]) -> dict[str, Any]:
        row = dict(row)
        row[MANAGER] = self.label
        return row

    def _mark_job(self, row: dict[str, Any]) -> dict[str, Any]:
        row = self._mark(row)
        tag = row.get("worker_tag")
        if tag:
            row["_tag_name"] = self.tags.get(tag, tag)
        return row

    # --- task log subscriptions --------------------------------------------------------------------
    async def follow_task_log(self, task_id: str) -> None:
        """Receive `task_log_appended` for this task (kept across reconnects).

        Returns once the subscription is on its way, so a tail fetched after it misses nothing.
        """
        self._log_tasks.add(task_id)
        ws = self._ws
        if ws is not None and not ws.closed:
            with contextlib.suppress(Exception):
                await ws.send_json({"op": "subscribe", "task_log": task_id})

    def unfollow_task_log(self, task_id: str) -> None:
        self._log_tasks.discard(task_id)
        self._send({"op": "unsubscribe", "task_log": task_id})

    def _send(self, command: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            spawn(_quiet(ws.send_json(command)))


async def _quiet(coro) -> None:
    with contextlib.suppress(Exception):
        await coro


def _describe(exc: BaseException, url: str) -> str:
    if isinstance(exc, ApiError):
        return str(exc)
    if isinstance(exc, (OSError, TimeoutError)):
        return f"cannot reach the Manager at {url}"
    text = str(exc) or type(exc).__name__
    return f"lost the Manager at {url}: {text}"
