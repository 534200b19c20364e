"""`WorkerController`: this computer's worker as the Manager sees it, as Qt signals.

It follows the Manager's event stream for THIS worker only (its id comes from the worker's
credentials file, or from its name), and keeps what the tray and the worker window show: the
worker's status and pending request, the running task with progress and time left, its log tail,
the last frame this worker rendered, the sleep schedule and today's history. The history and the last
frame are the Manager's (its record of this worker's day since local midnight, which survives a
restart of the app or the Manager), fetched again whenever a task of this worker ends or a frame of
its jobs arrives, and at midnight. Every action (render
now, stop, finish then stop, snooze, schedule) is a request to the Manager; what the tray shows
changes when the Manager's events say so, never before: the Manager may refuse or change a
request, and a tray that guessed would show a state the farm is not in.

On every (re)connection or gap it fetches a snapshot again, like the dashboard's connection.
With `rediscover` (the Manager was found on the network, or the worker's settings ask for it), a
Manager lost for `lost_after_s` is looked for again with UPnP/SSDP: the same Manager (its name, and
it proves it holds the key it gave this worker) at a new address; the controller then follows it
there. The worker's own credentials go only where its Manager signed it on or proved itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.api.errors import ApiError, NotFound
from app.api.events import StreamGap
from app.api.stream import EventStream
from app.api.workers import WorkerSleepSchedule
from app.common import events as ev
from app.ui import tray_state
from app.ui.aio import spawn
from app.worker.rediscovery import next_gap

_log = logging.getLogger(__name__)

LOG_LINES = 200


def _as_dict(payload: Any) -> dict[str, Any]:
    if isinstance(payload, dict):
        return payload
    to_json = getattr(payload, "to_json", None)
    return to_json() if callable(to_json) else {}


def tomorrow_morning(now: dt.datetime, hour: int = 8) -> dt.datetime:
    return dt.datetime.combine(now.date() + dt.timedelta(days=1), dt.time(hour, 0), tzinfo=now.tzinfo)


def local_midnight(now: dt.datetime) -> dt.datetime:
    """The start of `now`'s day, in `now`'s time zone."""
    return dt.datetime.combine(now.date(), dt.time(0, 0), tzinfo=now.tzinfo)


class History:
    """Today's work of this worker, as the Manager counts it: tasks done, failed, time spent rendering."""

    def __init__(self) -> None:
        self.day: dt.date | None = None
        self.done = 0
        self.failed = 0
        self.seconds = 0.0

    def roll(self, today: dt.date) -> bool:
        """Start a new day at midnight; True when it did."""
        if self.day != today:
            self.day, self.done, self.failed, self.seconds = today, 0, 0, 0.0
            return True
        return False

    def take(self, today: dt.date, done: int, failed: int, seconds: float) -> None:
        self.day, self.done, self.failed, self.seconds = today, done, failed, seconds

    def as_dict(self) -> dict[str, Any]:
        return {"done": self.done, "failed": self.failed, "seconds": self.seconds}


class WorkerController(QObject):
    state_changed = Signal(object)          # tray_state.TrayState
    connection_changed = Signal(bool, str)  # connected, message
    task_changed = Signal(object)           # dict (with "eta_s") or None
    log_appended = Signal(str)
    frame_changed = Signal(bytes)
    history_changed = Signal(dict)
    schedule_changed = Signal(object)       # its `WorkerSleepSchedule`, or None
    worker_found = Signal(str, str)         # id, name
    action_failed = Signal(str)
    notify = Signal(str, str)               # title, text (tray notifications)
    manager_moved = Signal(str)             # the lost Manager was found again at this URL

    def __init__(self, url: str, worker_name: str, credentials_path: Path | None = None,
                 client: ManagerClient | None = None, clock: Callable[[], dt.datetime] | None = None,
                 parent=None, *, rediscover: bool = False, discovery_targets: list[tuple[str, int]] | None = None,
                 lost_after_s: float = 20.0, admin_token: str = ""):
        super().__init__(parent)
        self.url = url.rstrip("/")
        self.worker_name = worker_name
        self.credentials_path = credentials_path
        #: The admin token of the Manager running in this app (its own token file), if it is ours.
        self.admin_token = admin_token
        self.client = client or _client_for(self.url, admin_token)
        self.rediscover = rediscover
        self.discovery_targets = discovery_targets
        self.lost_after_s = lost_after_s
        self.manager_name: str | None = None   # from /version, to know the same Manager elsewhere
        self.clock = clock or (lambda: dt.datetime.now().astimezone())
        self.worker_id = ""
        self.connected = False
        self.message = ""
        self.status = ""
        self.lazy_request: dict[str, Any] | None = None
        self.task: dict[str, Any] | None = None
        self.schedule: WorkerSleepSchedule | None = None
        self.snoozed_until: dt.datetime | None = None
        self.held = ""   # why the artist's own programs hold this worker asleep ('' when they do not)
        self.history = History()
        self.log: deque[str] = deque(maxlen=LOG_LINES)
        self.state = tray_state.TrayState(tray_state.STARTING, "starting")
        self._task_started: dict[str, float] = {}
        self._my_tasks: set[str] = set()
        self._my_jobs: set[str] = set()
        self._day_task: asyncio.Task | None = None
        self._day_again = False
        self._frame_shown = ""   # the `rendered_at` of the last frame shown
        self._run_task: asyncio.Task | None = None
        self._snooze_task: asyncio.Task | None = None
        self._stream: EventStream | None = None
        self._lost_since: float | None = None   # when the Manager stopped answering
        self._proven_url = ""   # where the Manager proved itself, found again on the network
        self._tick = QTimer(self)
        self._tick.setInterval(30_000)  # schedule boundaries and "time left" move with the clock
        self._tick.timeout.connect(self._derive)

    # --- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._run_task is None:
            self._run_task = spawn(self._run())
            self._tick.start()

    async def stop(self) -> None:
        self._tick.stop()
        for task in (self._run_task, self._snooze_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._run_task = self._snooze_task = None
        await self.client.close()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            self._stream = stream = self.client.events(max_backoff_s=5.0)
            watcher = asyncio.create_task(self._watch(stream))
            try:
                await self._follow(stream)
                message = "the Manager closed the event stream"
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - say it, retry
                message = f"cannot reach the Manager at {self.url}: {exc}"
            finally:
                watcher.cancel()
                await stream.close()
                self._stream = None
            self._set_connected(False, message)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _look_again(self) -> bool:
        """Search the network for the lost Manager; follow it when it answers somewhere else."""
        from app.worker.config import load_credentials
        from app.worker.rediscovery import find_own_manager

        creds = load_credentials(self.credentials_path) if self.credentials_path is not None else None
        self._set_connected(False, f"lost the Manager at {self.url}; looking for it on the network")
        # Proven before this worker's credentials go there (a copied name proves nothing).
        url = await find_own_manager(self.manager_name, creds, targets=self.discovery_targets)
        if url is None or url.rstrip("/") == self.url:
            return False
        old, worker_auth = self.client, self.client.transport.worker_auth
        self.url = self._proven_url = url.rstrip("/")
        self.client = _client_for(self.url)
        self.client.transport.worker_auth = worker_auth
        await old.close()
        _log.info("following the manager to %s", self.url)
        self.manager_moved.emit(self.url)
        return True

    async def _follow(self, stream) -> None:
        seen = 0
        # Closed here, on this loop, also when cancelled mid-snapshot (see ManagerConnection._follow).
        async with contextlib.aclosing(aiter(stream)) as items:
            async for item in items:
                if isinstance(item, StreamGap) or stream.connections != seen:
                    seen = stream.connections
                    await self._snapshot()
                    if isinstance(item, StreamGap):
                        continue
                self._dispatch(item.topic, _as_dict(item.payload))

    async def _watch(self, stream) -> None:
        """Say 'cannot reach the Manager' as soon as the stream drops; look for it again if lost long.

        The stream reconnects by itself, so this watcher is where a lost Manager is searched for;
        once found elsewhere, closing the stream makes `_run` open one to the new address.
        """
        gap, next_search = self.lost_after_s, 0.0
        while True:
            await asyncio.sleep(0.25)
            if self.connected and not stream.connected.is_set():
                self._set_connected(False, f"lost the Manager at {self.url}")
            now, lost_since = time.monotonic(), self._lost_since
            if lost_since is None:
                gap, next_search = self.lost_after_s, 0.0
            elif self.rediscover and now - lost_since >= self.lost_after_s and now >= next_search:
                if await self._look_again():
                    await stream.close()
                    return
                next_search, gap = time.monotonic() + gap, next_gap(gap)

    def _set_connected(self, connected: bool, message: str = "") -> None:
        if connected:
            self._lost_since = None
        elif self._lost_since is None:
            self._lost_since = time.monotonic()
        if connected != self.connected or message != self.message:
            was = self.connected
            self.connected, self.message = connected, message
            self.connection_changed.emit(connected, message)
            if was and not connected:
                self.notify.emit("Manager lost", message or f"lost the Manager at {self.url}")
            elif connected and not was and self.worker_id:
                self.notify.emit("Manager found", f"connected to the Manager at {self.url}")
            self._derive()

    # --- snapshot --------------------------------------------------------------------------------
    async def _find_worker(self) -> str:
        from app.worker.config import load_credentials

        if self.credentials_path is not None:
            creds = load_credentials(self.credentials_path)
            if creds is not None:
                with contextlib.suppress(NotFound):
                    await self.client.worker(creds.worker_id)
                    return creds.worker_id
        named = [w for w in await self.client.workers() if w.name == self.worker_name]
        named.sort(key=lambda w: w.last_seen or "", reverse=True)      # the most recently seen...
        named.sort(key=lambda w: str(w.status) == "offline")           # ...of those not offline
        return named[0].id if named else ""

    async def _snapshot(self) -> None:
        if self.manager_name is None:
            with contextlib.suppress(ApiError, Exception):
                self.manager_name = (await self.client.version()).name
        if not self.worker_id:
            self.worker_id = await self._find_worker()
            if self.worker_id:
                self.worker_found.emit(self.worker_id, self.worker_name)
        if not self.worker_id:
            self.message = "this worker has not signed on to the Manager yet"
            self._set_connected(True, self.message)
            spawn(self._retry_find())
            return
        worker = await self.client.worker(self.worker_id)
        self.status = str(worker.status)
        self.lazy_request = worker.status_change.to_json() if worker.status_change else None
        self.schedule = await self.client.sleep_schedule(self.worker_id)
        self.schedule_changed.emit(self.schedule)
        task = worker.task.to_json() if worker.task else None
        self._set_task(task if task and task.get("status") == "active" else None)
        self._set_connected(True, "")
        self._derive()
        self._want_day()

    async def _refresh_schedule(self) -> None:
        with contextlib.suppress(ApiError, Exception):
            fresh = await self.client.sleep_schedule(self.worker_id)
            if fresh != self.schedule:
                self.schedule = fresh
                self.schedule_changed.emit(fresh)
                self._derive()

    async def _retry_find(self) -> None:
        await asyncio.sleep(1.0)
        if not self.worker_id and self.connected:
            with contextlib.suppress(Exception):
                await self._snapshot()

    # --- events ----------------------------------------------------------------------------------
    def _dispatch(self, topic: str, data: dict[str, Any]) -> None:
        if topic == ev.WORKER_DID_CHANGE and data.get("id") == self.worker_id:
            self.status = str(data.get("status", self.status))
            self.lazy_request = data.get("status_change")
            previous = data.get("previous_status")
            if previous and previous != self.status and self.status in ("asleep", "awake"):
                self.notify.emit("Worker " + ("asleep" if self.status == "asleep" else "awake"),
                                 f"this computer went from {previous} to {self.status}")
                # Asleep by schedule or paused? The schedule may have been edited elsewhere.
                spawn(self._refresh_schedule())
            self._derive()
        elif topic == ev.TASK_DID_CHANGE and (data.get("worker") or {}).get("uuid") == self.worker_id:
            self._task_event(data)
        elif topic == ev.TASK_DID_CHANGE and self.task and data.get("id") == self.task.get("id"):
            self._task_event(data)  # requeued to no worker: it is not ours any more
        elif topic == ev.TASK_LOG_DID_APPEND and self.task and data.get("task_id") == self.task.get("id"):
            self._append_log(str(data.get("log", "")))
        elif topic == ev.LAST_RENDERED_DID_CHANGE and (
                data.get("task_id") in self._my_tasks or data.get("job_id") in self._my_jobs):
            self._want_day()  # perhaps this worker's frame: the Manager keeps each worker's newest

    def _task_event(self, data: dict[str, Any]) -> None:
        task_id, status = str(data.get("id", "")), str(data.get("status", ""))
        mine = (data.get("worker") or {}).get("uuid") == self.worker_id
        if mine:
            self._my_tasks.add(task_id)
            if data.get("job_id"):
                self._my_jobs.add(str(data["job_id"]))
        if status == "active" and mine:
            self._set_task(data)
        elif self.task is not None and self.task.get("id") == task_id:
            self._finish_task(task_id, status)
            self._set_task(None)
        self._derive()

    def _finish_task(self, task_id: str, status: str) -> None:
        self._task_started.pop(task_id, None)
        if status == "failed" or status == "soft-failed":
            self.notify.emit("Task failed", f"task {self.task.get('name', task_id) if self.task else task_id} "
                                            "failed on this computer")
        self._want_day()  # the Manager counts it

    def _want_day(self) -> None:
        """Fetch today's history and last frame from the Manager (again, once, when a fetch runs)."""
        if not self.worker_id:
            return
        if self._day_task is None or self._day_task.done():
            self._day_task = spawn(self._fetch_day())
        else:
            self._day_again = True

    async def _fetch_day(self) -> None:
        self._day_again = True
        while self._day_again:
            self._day_again = False
            now = self.clock()
            try:
                day = await self.client.worker_day(self.worker_id, local_midnight(now).isoformat(),
                                                   as_worker=self._use_own_credentials())
            except Exception as exc:  # noqa: BLE001 - a Manager without it, or away: the next event retries
                _log.debug("cannot fetch this worker's day: %s", exc)
                return
            self.history.take(now.date(), day.tasks_completed, day.tasks_failed, day.seconds)
            self.history_changed.emit(self.history.as_dict())
            frame = day.last_frame
            if frame is not None and frame.suffixes and frame.rendered_at != self._frame_shown:
                suffix = "last-rendered-small.jpg" if "last-rendered-small.jpg" in frame.suffixes else frame.suffixes[0]
                with contextlib.suppress(ApiError, Exception):
                    data = await self.client.file_bytes(f"{frame.base}/{suffix}")
                    if data:
                        self._frame_shown = frame.rendered_at
                        self.frame_changed.emit(data)

    def _set_task(self, task: dict[str, Any] | None) -> None:
        old_id = self.task.get("id") if self.task else None
        self.task = dict(task) if task else None
        if self.task is not None:
            task_id = self.task["id"]
            self._my_tasks.add(task_id)
            started = self._task_started.setdefault(task_id, time.monotonic())
            self.task["eta_s"] = _eta(self.task, time.monotonic() - started)
            if task_id != old_id:
                self.log.clear()
                spawn(self._follow_log(task_id))
        if old_id and (self.task is None or self.task["id"] != old_id) and self._stream is not None:
            spawn(self._stream.unwatch_task_log(old_id))
        self.task_changed.emit(dict(self.task) if self.task else None)

    async def _follow_log(self, task_id: str) -> None:
        if self._stream is not None:
            await self._stream.watch_task_log(task_id)
        with contextlib.suppress(ApiError, Exception):
            tail = await self.client.task_log_tail(task_id)
            if tail and self.task and self.task.get("id") == task_id and not self.log:
                self._append_log(tail)

    def _append_log(self, text: str) -> None:
        lines = text.splitlines()
        self.log.extend(lines)
        if lines:
            self.log_appended.emit("\n".join(lines))

    def _derive(self) -> None:
        now = self.clock()
        if self.history.roll(now.date()) and self.connected:
            self.history_changed.emit(self.history.as_dict())
            self._want_day()
        if self.task is not None:
            started = self._task_started.get(self.task["id"], time.monotonic())
            self.task["eta_s"] = _eta(self.task, time.monotonic() - started)
        state = tray_state.derive(connected=self.connected, status=self.status, lazy_request=self.lazy_request,
                                  task=self.task, schedule=self.schedule, now=now,
                                  snoozed_until=self.snoozed_until, message=self.message, held=self.held)
        if state != self.state:
            self.state = state
            self.state_changed.emit(state)

    # --- actions (requests to the Manager) -------------------------------------------------------
    async def _request(self, status: str, lazy: bool) -> bool:
        if not self.worker_id:
            self.action_failed.emit("this worker is not known to the Manager yet")
            return False
        try:
            await self.client.request_worker_status(self.worker_id, status, lazy=lazy,
                                                    as_worker=self._use_own_credentials())
            return True
        except Exception as exc:  # noqa: BLE001 - shown to the artist
            self.action_failed.emit(f"the Manager refused: {exc}")
            return False

    def _use_own_credentials(self) -> bool:
        """Send this worker's own credentials (when its file names this worker): a Manager lets a
        worker sleep or wake itself, and set its own sleep schedule, without the admin token."""
        from app.worker.config import load_credentials

        creds = load_credentials(self.credentials_path) if self.credentials_path is not None else None
        if creds is None or creds.worker_id != self.worker_id:
            return False
        if not self._may_send(creds):
            return False
        self.client.transport.worker_auth = lambda: (creds.worker_id, creds.worker_secret)
        return True

    def _may_send(self, creds) -> bool:
        """The worker's credentials go only where its Manager was (signed on there) or proved itself."""
        from app.common.manager_proof import same_address

        return not creds.manager_url or same_address(creds.manager_url, self.url) or self.url == self._proven_url

    def set_held(self, reason: str) -> None:
        """Show why the load hold keeps this worker asleep ('' when it no longer does)."""
        if reason != self.held:
            self.held = reason
            self._derive()

    async def render_now(self) -> None:
        self._cancel_snooze()
        await self._request("awake", lazy=False)

    async def stop_rendering(self) -> None:
        """Asleep at once: a running task goes back to the queue for another worker."""
        await self._request("asleep", lazy=False)

    async def finish_then_stop(self) -> None:
        """Asleep after the running task (the Manager's lazy request)."""
        await self._request("asleep", lazy=True)

    async def snooze(self, until: dt.datetime) -> None:
        """Asleep now, and ask the Manager to wake this worker at `until` (while this app runs)."""
        if await self._request("asleep", lazy=False):
            self._cancel_snooze()
            self.snoozed_until = until
            self._snooze_task = spawn(self._wake_at(until))
            self._derive()

    async def _wake_at(self, until: dt.datetime) -> None:
        await asyncio.sleep(max(0.0, (until - self.clock()).total_seconds()))
        self.snoozed_until = None
        await self._request("awake", lazy=False)

    def _cancel_snooze(self) -> None:
        if self._snooze_task is not None:
            self._snooze_task.cancel()
            self._snooze_task = None
        self.snoozed_until = None

    async def save_schedule(self, schedule: WorkerSleepSchedule) -> bool:
        if not self.worker_id:
            self.action_failed.emit("this worker is not known to the Manager yet")
            return False
        try:
            await self.client.set_sleep_schedule(self.worker_id, schedule,
                                                 as_worker=self._use_own_credentials())
        except Exception as exc:  # noqa: BLE001 - shown to the artist
            self.action_failed.emit(f"the Manager did not save the schedule: {exc}")
            return False
        self.schedule = schedule
        self.schedule_changed.emit(schedule)
        self._derive()
        return True


def _client_for(url: str, admin_token: str = "") -> ManagerClient:
    from app.ui.dashboard import admin_token_for

    return ManagerClient(url, admin_token=admin_token or admin_token_for(url))


def _eta(task: dict[str, Any], elapsed_s: float) -> float | None:
    done, total = int(task.get("steps_completed") or 0), int(task.get("steps_total") or 0)
    if done <= 0 or total <= 0 or done >= total:
        return None
    return elapsed_s * (total - done) / done
