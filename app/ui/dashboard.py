"""`Dashboard`: the watched Managers, the combined job and worker models, and the actions.

One `ManagerConnection` per Manager feeds one jobs model and one workers model (rows carry their
Manager's label): a `JobRow` (the Manager's typed `Job`, changed by its `JobUpdate` events) and a
`WorkerRow` (its `WorkerSummary`, changed by `WorkerUpdate` and vitals events, with its details). Every action is sent to the Manager that owns the row, so with several Managers
the same table steers all of them. Actions are coroutines: the window awaits them from async slots
and shows a failure where the user acted.

The rows stay what the Manager says: a delta older than the row (one on its way while a snapshot
was read) is dropped; a deleted job or worker leaves; a worker shows a task only while that task
is active on it (task events say when it ends); a worker's vitals come with the worker list and
then from its vitals events alone (no request per event); a tag's name is looked up when drawn, so
a rename shows everywhere at once. The ETA column shows each Manager's own ETA (`etas`,
`app.ui.manager_eta`, read every ETA_EVERY_MS); for a Manager without one, `pace` (`app.ui.job_pace`)
learns from the task events and from the task lists of the most recently active jobs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.api.events import JobUpdate, TaskUpdate, WorkerUpdate, WorkerVitalsUpdate
from app.api.jobs import Job, SubmittedJob
from app.api.workers import Worker, WorkerSleepSchedule, WorkerSummary
from app.common.credentials import TokenStore, read_local_admin_token
from app.ui.aio import spawn
from app.ui.connection import ManagerConnection
from app.ui.job_pace import PaceBook, TaskFacts, task_facts
from app.ui.manager_eta import EtaBook
from app.ui.models.columns import jobs_model, workers_model
from app.ui.models.formats import FINISHED, parse_time
from app.ui.models.job_row import JobDelta, JobRow
from app.ui.models.worker_row import ShownTask, WorkerDelta, WorkerRow

_log = logging.getLogger(__name__)


class Dashboard(QObject):
    managers_changed = Signal()
    connection_state_changed = Signal(str, str, str)   # label, state, message
    farm_status_changed = Signal(str, str)             # label, status
    task_log_appended = Signal(str, str, str)          # label, task id, text
    tasks_changed = Signal(str, list)                  # label, task deltas
    last_rendered_changed = Signal(str, str)           # label, job id
    admin_token_needed = Signal(str, str)              # url, the Manager's message
    job_events = Signal(list)                          # job events (`JobDelta`) as they arrive (notifications)
    worker_events = Signal(list)                       # worker events (`WorkerUpdate`) as they arrive
    job_tasks_stale = Signal(str, str)                 # label, job id: refetch its tasks
    resynced = Signal(str)                             # label: everything was fetched again

    def __init__(self, parent=None):
        super().__init__(parent)
        self.connections: dict[str, ManagerConnection] = {}
        self.pace = PaceBook()
        self.etas = EtaBook()
        self.jobs = jobs_model(self, pace=self.eta_of, tag_name=self.tag_name)
        self.workers = workers_model(self, job_name=self.job_name, tag_name=self.tag_name)
        self._task_workers: dict[str, str] = {}          # "label/task id" → key of the worker showing it
        self._variables: dict[str, dict[str, dict[str, Any]]] = {}  # url (#site) → this computer's values
        self._details_wanted: dict[str, set[str]] = {}   # url -> worker ids
        self._details_timer = QTimer(self, singleShot=True, interval=500)
        self._details_timer.timeout.connect(self._fetch_details)
        self._loads: set[asyncio.Task] = set()  # detail and ETA fetches under way; cancelled on close
        self._eta_timer = QTimer(self, interval=ETA_EVERY_MS)
        self._eta_timer.timeout.connect(self._read_etas)
        self._eta_timer.start()

    # --- the Managers' ETAs ---------------------------------------------------------------------------
    def eta_of(self, row: JobRow) -> Any:
        """The job's ETA as its Manager gives it (a `ManagerEta`, or why none), else the dashboard's own
        `Pace` from a Manager without ETAs, or None."""
        known = self.etas.of(row.manager, row.job.id)
        return known if known is not None else self.pace.pace(row.key, row.job)

    def _read_etas(self) -> None:
        for conn in list(self.connections.values()):
            self._spawn(self._load_etas(conn))

    def _spawn(self, coro) -> None:
        """Run a fetch, remembered until it ends so that closing the dashboard can cancel it."""
        load = spawn(coro)
        if load is not None:
            self._loads.add(load)
            load.add_done_callback(self._loads.discard)

    async def _load_etas(self, conn: ManagerConnection) -> None:
        try:
            answer = await conn.client.job_etas()
        except Exception as exc:  # noqa: BLE001 - the Manager is away: its connection says so
            _log.debug("no ETAs from %s: %s", conn.url, exc)
            return
        if self.connections.get(conn.url) is conn:
            self.etas.answered(conn.label, answer)

    # --- Managers --------------------------------------------------------------------------------
    def add_manager(self, url: str, client: ManagerClient | None = None, admin_token: str = "") -> ManagerConnection:
        url = url.rstrip("/")
        if url in self.connections:
            return self.connections[url]
        if client is None:
            client = ManagerClient(url, admin_token=admin_token or admin_token_for(url))
        conn = ManagerConnection(url, label=_label(url), client=client, parent=self)
        label = conn.label
        conn.jobs_reset.connect(lambda jobs, conn=conn: self._jobs_reset(conn, jobs))
        conn.jobs_changed.connect(lambda updates, label=label: self._jobs_arrived(label, updates))
        conn.job_tasks_stale.connect(lambda job_id, label=label: self._tasks_stale(label, job_id))
        conn.snapshot_done.connect(lambda label=label: self.resynced.emit(label))
        conn.snapshot_done.connect(lambda conn=conn: self._spawn(self._load_etas(conn)))
        self.etas.asking(label)
        conn.tags_changed.connect(lambda _tags: self._repaint_tags())
        conn.tag_deleted.connect(lambda tag_id, label=label: self._tag_deleted(label, tag_id))
        conn.config_changed.connect(lambda url=conn.url: self._forget_variables(url))
        conn.workers_changed.connect(self.worker_events.emit)
        conn.workers_reset.connect(lambda workers, label=label: self._workers_reset(label, workers))
        conn.workers_reset.connect(lambda workers, conn=conn: self._want_details(conn, [w.id for w in workers]))
        conn.workers_changed.connect(lambda updates, conn=conn: self._want_details(conn, [u.id for u in updates]))
        conn.tasks_changed.connect(lambda rows, label=label: self._task_progress_on_workers(label, rows))
        conn.tasks_changed.connect(lambda rows, label=label: self._task_paces(label, rows))
        conn.workers_changed.connect(lambda updates, label=label: self._workers_changed(label, updates))
        conn.vitals_changed.connect(lambda events, label=label: self._vitals_changed(label, events))
        conn.state_changed.connect(lambda s, m, label=label: self.connection_state_changed.emit(label, s, m))
        conn.farm_status_changed.connect(lambda s, label=label: self.farm_status_changed.emit(label, s))
        conn.task_log_appended.connect(lambda t, text, label=label: self.task_log_appended.emit(label, t, text))
        conn.tasks_changed.connect(lambda rows, label=label: self.tasks_changed.emit(label, rows))
        conn.last_rendered_changed.connect(lambda j, label=label: self.last_rendered_changed.emit(label, j))
        self.connections[url] = conn
        conn.start()
        self.managers_changed.emit()
        return conn

    async def remove_manager(self, url: str) -> None:
        conn = self.connections.pop(url.rstrip("/"), None)
        if conn is None:
            return
        await conn.stop()
        self.etas.forget(conn.label)
        for model in (self.jobs, self.workers):
            for key in [k for k in model.keys() if k.startswith(conn.label + "/")]:
                model.remove(key)
        self.managers_changed.emit()

    async def use_admin_token(self, url: str, token: str, remember: bool = True) -> None:
        """Send `token` with this Manager's admin operations from now on (and remember it)."""
        conn = self.connections.get(url.rstrip("/"))
        if conn is None:
            return
        if remember:
            TokenStore().remember(conn.url, token)
        old, conn.client = conn.client, ManagerClient(conn.url, admin_token=token)
        conn.restart()  # the old client's stream is cancelled before that client closes
        await old.close()

    async def close(self) -> None:
        # No detail or ETA fetch may start or be left running after the connections go (one the
        # closing loop never ran would be a coroutine never awaited).
        self._details_timer.stop()
        self._eta_timer.stop()
        self._details_wanted.clear()
        loads, self._loads = self._loads, set()
        for load in loads:
            load.cancel()
        await asyncio.gather(*loads, return_exceptions=True)
        await asyncio.gather(*(c.stop() for c in self.connections.values()), return_exceptions=True)

    @property
    def multi(self) -> bool:
        return len(self.connections) > 1

    def _forget_variables(self, url: str) -> None:
        """A Manager's configuration changed: its variables (a hub's: each site's) are read again."""
        for key in [k for k in self._variables if k == url or k.startswith(f"{url}#")]:
            del self._variables[key]

    def connection_for(self, row: JobRow | WorkerRow) -> ManagerConnection:
        label = row.manager
        for conn in self.connections.values():
            if conn.label == label:
                return conn
        raise LookupError(f"no Manager {label!r} is watched any more")

    def _reset(self, model, label: str, rows: list[Any]) -> None:
        if len(self.connections) <= 1:
            model.reset(rows)
            return
        keep = [model.row(k) for k in model.keys() if not k.startswith(label + "/")]
        model.reset([r for r in keep if r is not None] + rows)

    # --- lookups the columns use ---------------------------------------------------------------------
    def tag_name(self, label: str, tag_id: str) -> str:
        for conn in self.connections.values():
            if conn.label == label:
                return conn.tags.get(tag_id, "")
        return ""

    def job_name(self, label: str, job_id: str) -> str:
        row = self.jobs.row(f"{label}/{job_id}")
        return row.job.name if row else ""

    # --- jobs --------------------------------------------------------------------------------------
    def _jobs_reset(self, conn: ManagerConnection, jobs: list[Job]) -> None:
        for key in [k for k in self.jobs.keys() if k.startswith(conn.label + "/")]:
            self.pace.forget(key)
        rows = [JobRow(conn.label, job) for job in jobs]
        self._reset(self.jobs, conn.label, rows)
        for row in rows:
            self.pace.job_changed(row.key, row.job)
        spawn(self._load_paces(conn, rows))

    def _jobs_arrived(self, label: str, updates: list[JobUpdate]) -> None:
        deltas = [JobDelta(label, update) for update in updates]
        self._jobs_changed(deltas)
        self.job_events.emit(deltas)

    def _jobs_changed(self, deltas: list[JobDelta]) -> None:
        """Job events: deleted jobs leave, an event older than the row it would change is dropped
        (one that was on its way while a snapshot was read)."""
        fresh: list[JobDelta] = []
        for delta in deltas:
            update, key = delta.update, delta.key
            if update.was_deleted:
                self.jobs.remove(key)
                self.pace.forget(key)
                fresh = [d for d in fresh if d.key != key]  # its earlier events of this batch too
                continue
            known = self.jobs.row(key)
            if known is not None and _older(update.updated, known.job.updated):
                continue
            fresh.append(delta)
        self.jobs.upsert_many(fresh)
        for key in dict.fromkeys(d.key for d in fresh):
            merged = self.jobs.row(key)
            if merged is not None:
                self.pace.job_changed(key, merged.job)
                if merged.job.status in FINISHED:
                    self.pace.tasks_stale(key)  # no ETA to keep: its place goes to a running job
                elif merged.job.status == "active" and key not in self.pace.loaded:
                    conn = self._connection_of(key)
                    if conn is not None and len(self.pace.loaded) < PACE_JOBS:
                        spawn(self._load_paces(conn, [merged]))

    async def _load_paces(self, conn: ManagerConnection, rows: list[JobRow]) -> None:
        """Read the finished tasks of the most recently active jobs, for their ETA (one at a time,
        so no single answer holds the window up for long), from a Manager that gives no ETA itself."""
        if self.etas.gives(conn.label) is None:
            await self._load_etas(conn)
        if self.etas.gives(conn.label) is not False:
            return
        active = sorted((r for r in rows if r.job.status == "active"),
                        key=lambda r: r.job.updated, reverse=True)[:PACE_JOBS]
        for row in active:
            key = row.key
            if key in self.pace.loaded or len(self.pace.loaded) >= PACE_JOBS:
                continue
            self.pace.loaded.add(key)  # claimed: no second read of it starts meanwhile
            try:
                # The plain JSON: the ETA needs four fields of each task, and decoding a thousand
                # tasks into wire models would hold the window up for tens of milliseconds.
                body = await conn.client.request("GET", f"/api/v3/jobs/{row.job.id}/tasks")
                tasks = [task_facts(t) for t in (body or {}).get("tasks") or [] if isinstance(t, dict)]
            except Exception as exc:  # noqa: BLE001 - no ETA from its tasks, the farm's history serves
                _log.debug("no tasks for the ETA of %s: %s", row.job.id, exc)
                self.pace.loaded.discard(key)
                continue
            if self.jobs.row(key) is not None:
                self.tasks_loaded(conn.label, row.job.id, tasks)

    def _tasks_stale(self, label: str, job_id: str) -> None:
        """Many of a job's tasks changed at once: what the ETA knew of them is read again (the job's
        own event, which follows, starts that for an active job)."""
        self.pace.tasks_stale(f"{label}/{job_id}")
        self.job_tasks_stale.emit(label, job_id)

    def tasks_loaded(self, label: str, job_id: str, tasks: Sequence[TaskFacts]) -> None:
        """A job's whole task list was read (by its detail pane, or for its ETA)."""
        row = self.jobs.row(f"{label}/{job_id}")
        if row is None or row.job.status in FINISHED:
            return  # a finished job has no ETA to work out
        self.pace.tasks_loaded(f"{label}/{job_id}", tasks)
        self._repaint(self.jobs, f"{label}/{job_id}")

    def _connection_of(self, key: str) -> ManagerConnection | None:
        label = key.rsplit("/", 1)[0]
        return next((c for c in self.connections.values() if c.label == label), None)

    def _repaint(self, model, key: str) -> None:
        i = model.row_of(key)
        if i >= 0:
            model.dataChanged.emit(model.index(i, 0), model.index(i, model.columnCount() - 1))

    def _repaint_tags(self) -> None:
        for model in (self.jobs, self.workers):
            if model.rowCount():
                last = model.index(model.rowCount() - 1, model.columnCount() - 1)
                model.dataChanged.emit(model.index(0, 0), last)

    def _tag_deleted(self, label: str, tag_id: str) -> None:
        """The Manager took a deleted tag off every job and worker that had it."""
        tagged = [r.key for r in (self.jobs.row(k) for k in self.jobs.keys() if k.startswith(label + "/"))
                  if r and r.job.worker_tag == tag_id]
        self.jobs.edit(tagged, _untag)
        def untag_worker(row: WorkerRow) -> None:
            if row.details is not None:
                row.details.tags = [t for t in row.details.tags if t.id != tag_id]

        had = [r.key for r in (self.workers.row(k) for k in self.workers.keys() if k.startswith(label + "/"))
               if r is not None and r.details is not None and any(t.id == tag_id for t in r.details.tags)]
        self.workers.edit(had, untag_worker)

    # --- workers -----------------------------------------------------------------------------------
    def _workers_reset(self, label: str, workers: list[WorkerSummary]) -> None:
        self._task_workers = {k: w for k, w in self._task_workers.items() if not k.startswith(label + "/")}
        self._reset(self.workers, label, [WorkerRow(label, w) for w in workers])

    def _workers_changed(self, label: str, updates: list[WorkerUpdate]) -> None:
        fresh: list[WorkerDelta] = []
        for update in updates:
            delta = WorkerDelta(label, update)
            key = delta.key
            if update.deleted_at:
                self.workers.remove(key)
                fresh = [d for d in fresh if d.key != key]
                continue
            known = self.workers.row(key)
            if known is not None and _older(update.updated, known.updated):
                continue
            fresh.append(delta)
        self.workers.upsert_many(fresh)

    def _vitals_changed(self, label: str, events: list[WorkerVitalsUpdate]) -> None:
        """Workers' new vitals: each replaces its worker's last ones (a field left out of a report
        is one the worker could not read, or a frame no longer rendered). No request is made: the
        event carries all the columns show. The worker was seen when it sent them. A worker the
        list does not have yet gets its row with the vitals it is served."""
        by_key = {f"{label}/{event.id}": event for event in events}

        def arrived(row: WorkerRow) -> None:
            event = by_key[row.key]
            seen = row.worker.last_seen
            row.vitals_arrived(event, bool(event.last_seen) and (not seen or _older(seen, event.last_seen)))

        self.workers.edit(list(by_key), arrived)

    # --- worker details (platform, tags, current task, sleep schedule) --------------------------------
    def _want_details(self, conn: ManagerConnection, ids: list[str]) -> None:
        """The worker list's summaries lack these; fetch them, batched, after a change."""
        self._details_wanted.setdefault(conn.url, set()).update(ids)
        if not self._details_timer.isActive():
            self._details_timer.start()

    def _fetch_details(self) -> None:
        wanted, self._details_wanted = self._details_wanted, {}
        for url, ids in wanted.items():
            conn = self.connections.get(url)
            if conn is not None:
                self._spawn(self._load_details(conn, sorted(ids)))

    async def _load_details(self, conn: ManagerConnection, ids: list[str]) -> None:
        limit = asyncio.Semaphore(8)

        async def one(worker_id: str) -> tuple[Worker, WorkerSleepSchedule | None] | None:
            async with limit:
                try:
                    worker = await conn.client.worker(worker_id)
                    schedule = await conn.client.sleep_schedule(worker_id)
                except Exception as exc:  # noqa: BLE001 - a worker deleted meanwhile, a lost Manager
                    _log.debug("no details for worker %s: %s", worker_id, exc)
                    return None
            return worker, schedule

        found = {f"{conn.label}/{r[0].id}": r for r in await asyncio.gather(*(one(i) for i in ids)) if r}

        def read(row: WorkerRow) -> None:
            # Only what the worker events lack: status, last seen and the asked-for change come with
            # every event, and an event newer than this answer may already be in the row.
            worker, schedule = found[row.key]
            task = ShownTask.of_worker(worker.task) if worker.task is not None else None
            if row.task is not None and (task is None or _older(task.updated, row.task.updated)):
                task = row.task  # events told of a newer one meanwhile
            elif task is not None and task.status == "active":
                self._task_workers[f"{conn.label}/{task.id}"] = row.key
            row.details_read(worker, schedule, task)

        self.workers.edit(list(found), read)

    def _task_progress_on_workers(self, label: str, events: list[TaskUpdate]) -> None:
        """A task's change shows on the worker running it: its progress while it is active there,
        and its end (the worker shows no task then)."""
        shows: dict[str, ShownTask | None] = {}   # worker key → the task it shows after this batch
        for event in events:
            task_key = f"{label}/{event.id}"
            worker_id = (event.worker.id or event.worker.uuid) if event.worker is not None else ""
            shown_on = self._task_workers.get(task_key)
            if worker_id and event.status == "active":
                key = f"{label}/{worker_id}"
                if self.workers.row_of(key) < 0:
                    continue
                if shown_on and shown_on != key and self._shows(shows, shown_on, event.id):
                    shows[shown_on] = None
                self._task_workers[task_key] = key
                shows[key] = ShownTask.of_event(event)
            elif shown_on:
                del self._task_workers[task_key]
                shown = self._shown(shows, shown_on)
                if shown is not None and shown.id == event.id:
                    shows[shown_on] = replace(shown, status=str(event.status), updated=event.updated)
        if shows:
            self.workers.edit(list(shows), lambda r: setattr(r, "task", shows[r.key]))

    def _shown(self, shows: dict[str, ShownTask | None], worker_key: str) -> ShownTask | None:
        """The task the worker's row shows, with this batch's changes."""
        if worker_key in shows:
            return shows[worker_key]
        row = self.workers.row(worker_key)
        return row.task if row is not None else None

    def _shows(self, shows: dict[str, ShownTask | None], worker_key: str, task_id: str) -> bool:
        """Whether the worker's row (with this batch's changes) shows that task."""
        shown = self._shown(shows, worker_key)
        return shown is not None and shown.id == task_id

    def _task_paces(self, label: str, events: list[TaskUpdate]) -> None:
        for event in events:
            key = f"{label}/{event.job_id}"
            if self.pace.task_changed(key, event):
                self._repaint(self.jobs, key)

    # --- actions (each goes to the Manager that owns the row) ------------------------------------------
    async def set_job_status(self, rows: Iterable[JobRow], status: str, reason: str) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.set_job_status(r.job.id, status, reason))

    async def set_job_priority(self, rows: Iterable[JobRow], priority: int) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.set_job_priority(r.job.id, priority))

    async def set_job_tag(self, rows: Iterable[JobRow], tag_name: str) -> list[str]:
        """Set the worker tag by name on each row's Manager ("" removes the tag)."""
        body = {"name": tag_name} if tag_name else {}
        return await self._each(rows, lambda c, r: c.client.request("POST", f"/api/v3/jobs/{r.job.id}/settag", body))

    async def delete_jobs(self, rows: Iterable[JobRow]) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.delete_job(r.job.id))

    async def requeue_failed_tasks(self, rows: Iterable[JobRow]) -> list[str]:
        """Requeue only the failed tasks of each job (the job itself follows the tasks)."""

        async def one(conn: ManagerConnection, row: JobRow) -> None:
            tasks = await conn.client.job_tasks(row.job.id)
            for task in tasks:
                if task.status == "failed":
                    await conn.client.set_task_status(task.id, "queued", "requeued from the dashboard")

        return await self._each(rows, one)

    async def resubmit_jobs(self, rows: Iterable[JobRow]) -> list[str]:
        """Submit each job again as a new job: same type, settings, priority and tag; this computer's
        user and host as its submitter. Its files stay where the first job had them."""

        async def one(conn: ManagerConnection, row: JobRow) -> None:
            job = await conn.client.job(row.job.id)
            if job.storage and job.storage.shaman_checkout_id:
                raise ValueError("its files are in a Shaman checkout of its own; submit the .blend file "
                                 "again (Duplicate and edit)")
            await conn.client.submit_job(resubmission(job))

        return await self._each(rows, one)

    async def variables_here(self, row: JobRow) -> dict[str, dict[str, Any]]:
        """The Manager's variables as users of this computer's platform see them (cached until its
        configuration changes); a hub's job's are its site's, and one still waiting at the hub has
        none (its settings are as the artist sent them)."""
        conn, site = self.connection_for(row), row.job.site
        if site == "":
            return {}
        key = conn.url if site is None else f"{conn.url}#{site}"
        found = self._variables.get(key)
        if found is None:
            from app.common.crosspath import current_platform

            resolved = await conn.client.resolved_variables("users", current_platform(), site)
            found = {name: {"value": v.value, "is_twoway": bool(v.is_twoway)} for name, v in resolved.items()}
            self._variables[key] = found
        return found

    async def request_worker_status(self, rows: Iterable[WorkerRow], status: str, lazy: bool) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.request_worker_status(r.id, status, lazy))

    async def delete_workers(self, rows: Iterable[WorkerRow]) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.request("DELETE", f"/api/v3/worker-mgt/workers/{r.id}"))

    async def sleep_schedule(self, row: WorkerRow) -> WorkerSleepSchedule | None:
        return await self.connection_for(row).client.sleep_schedule(row.id)

    async def set_sleep_schedule(self, rows: Iterable[WorkerRow], schedule: WorkerSleepSchedule) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.set_sleep_schedule(r.id, schedule))

    async def set_worker_tags(self, rows: Iterable[WorkerRow], tag_ids: list[str],
                              new_names: list[str]) -> list[str]:
        """Give each worker exactly these tags; new tag names are made on each row's Manager."""

        async def one(conn: ManagerConnection, row: WorkerRow) -> None:
            ids = [t for t in tag_ids if t in conn.tags]
            by_name = {name: tid for tid, name in conn.tags.items()}
            for name in new_names:
                if name in by_name:
                    ids.append(by_name[name])
                else:
                    made = await conn.client.request("POST", "/api/v3/worker-mgt/tags", {"name": name})
                    conn.tags[made["id"]] = name
                    ids.append(made["id"])
            await conn.client.request("POST", f"/api/v3/worker-mgt/workers/{row.id}/settags", {"tag_ids": ids})

        return await self._each(rows, one)

    async def _each(self, rows: Iterable[JobRow | WorkerRow], action) -> list[str]:
        """Run `action(conn, row)` for every row, in parallel; return the error messages."""

        async def run(row: JobRow | WorkerRow) -> str | None:
            try:
                conn = self.connection_for(row)
                await action(conn, row)
            except Exception as exc:  # noqa: BLE001 - reported to the user in the Manager's words
                if getattr(exc, "status", 0) in (401, 403) and "admin token" in str(exc):
                    self.admin_token_needed.emit(conn.url, str(exc))
                return f"{row.name}: {exc}"
            return None

        results = await asyncio.gather(*(run(r) for r in rows))
        return [r for r in results if r]


ETA_EVERY_MS = 5000  # the Managers' ETAs are read again (each finished task moves them; no event says so)
PACE_JOBS = 30  # active jobs whose task lists are read for their ETA (the rest learn from events)


def _untag(row: JobRow) -> None:
    row.job.worker_tag = ""


def _older(incoming: Any, known: Any) -> bool:
    """True when `incoming` is an earlier time than `known` (unknown times never count as older)."""
    a, b = parse_time(incoming), parse_time(known)
    return a is not None and b is not None and a < b


def resubmission(job: Job) -> SubmittedJob:
    """The `SubmittedJob` that submits `job` again, as this computer's user."""
    from app.common.crosspath import current_platform
    from app.submit.submission import submitter_metadata

    return SubmittedJob(
        name=job.name, type=job.type, priority=job.priority,
        submitter_platform=job.submitter_platform or current_platform(), settings=dict(job.settings),
        metadata={**job.metadata, **submitter_metadata()}, type_etag=job.type_etag or None,
        worker_tag=job.worker_tag or None)


def admin_token_for(url: str) -> str:
    """A remembered admin token for this Manager, or the local Manager's own token file."""
    remembered = TokenStore().recall(url)
    if remembered:
        return remembered
    host = _label(url).rsplit(":", 1)[0].strip("[]")
    if host in ("127.0.0.1", "localhost", "::1"):
        return read_local_admin_token() or ""
    return ""


def _label(url: str) -> str:
    """A short name for a Manager: its host:port."""
    rest = url.split("://", 1)[-1]
    return rest.split("/", 1)[0]
