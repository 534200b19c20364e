"""`Dashboard`: the watched Managers, the combined job and worker models, and the actions.

One `ManagerConnection` per Manager feeds one jobs model and one workers model (rows carry their
Manager's label). Every action is sent to the Manager that owns the row, so with several Managers
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
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.api.jobs import Job, SubmittedJob
from app.common.credentials import TokenStore, read_local_admin_token
from app.ui.aio import spawn
from app.ui.connection import ManagerConnection
from app.ui.job_pace import PaceBook
from app.ui.manager_eta import EtaBook
from app.ui.models.columns import MANAGER, jobs_model, row_key, workers_model
from app.ui.models.formats import FINISHED, parse_time

_log = logging.getLogger(__name__)


class Dashboard(QObject):
    managers_changed = Signal()
    connection_state_changed = Signal(str, str, str)   # label, state, message
    farm_status_changed = Signal(str, str)             # label, status
    task_log_appended = Signal(str, str, str)          # label, task id, text
    tasks_changed = Signal(str, list)                  # label, task deltas
    last_rendered_changed = Signal(str, str)           # label, job id
    admin_token_needed = Signal(str, str)              # url, the Manager's message
    job_events = Signal(list)                          # job deltas as they arrive (notifications)
    worker_events = Signal(list)
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
        self._variables: dict[str, dict[str, dict[str, Any]]] = {}  # url → this computer's variable values
        self._details_wanted: dict[str, set[str]] = {}   # url -> worker ids
        self._details_timer = QTimer(self, singleShot=True, interval=500)
        self._details_timer.timeout.connect(self._fetch_details)
        self._eta_timer = QTimer(self, interval=ETA_EVERY_MS)
        self._eta_timer.timeout.connect(self._read_etas)
        self._eta_timer.start()

    # --- the Managers' ETAs ---------------------------------------------------------------------------
    def eta_of(self, row: dict[str, Any]) -> Any:
        """The job's ETA as its Manager gives it (a `ManagerEta`, or why none), else the dashboard's own
        `Pace` from a Manager without ETAs, or None."""
        known = self.etas.of(str(row.get(MANAGER, "")), str(row.get("id", "")))
        return known if known is not None else self.pace.pace(row_key(row), row)

    def _read_etas(self) -> None:
        for conn in list(self.connections.values()):
            spawn(self._load_etas(conn))

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
        conn.jobs_reset.connect(lambda rows, conn=conn: self._jobs_reset(conn, rows))
        conn.jobs_changed.connect(self._jobs_changed)
        conn.jobs_changed.connect(self.job_events.emit)
        conn.job_tasks_stale.connect(lambda job_id, label=label: self._tasks_stale(label, job_id))
        conn.snapshot_done.connect(lambda label=label: self.resynced.emit(label))
        conn.snapshot_done.connect(lambda conn=conn: spawn(self._load_etas(conn)))
        self.etas.asking(label)
        conn.tags_changed.connect(lambda _tags: self._repaint_tags())
        conn.tag_deleted.connect(lambda tag_id, label=label: self._tag_deleted(label, tag_id))
        conn.config_changed.connect(lambda url=conn.url: self._variables.pop(url, None))
        conn.workers_changed.connect(self.worker_events.emit)
        conn.workers_reset.connect(lambda rows, label=label: self._workers_reset(label, rows))
        conn.workers_reset.connect(lambda rows, conn=conn: self._want_details(conn, [r["id"] for r in rows]))
        conn.workers_changed.connect(lambda rows, conn=conn: self._want_details(conn, [r["id"] for r in rows]))
        conn.tasks_changed.connect(lambda rows, label=label: self._task_progress_on_workers(label, rows))
        conn.tasks_changed.connect(lambda rows, label=label: self._task_paces(label, rows))
        conn.workers_changed.connect(self._workers_changed)
        conn.vitals_changed.connect(self._vitals_changed)
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
        await old.close()
        conn.restart()

    async def close(self) -> None:
        await asyncio.gather(*(c.stop() for c in self.connections.values()), return_exceptions=True)

    @property
    def multi(self) -> bool:
        return len(self.connections) > 1

    def connection_for(self, row: dict[str, Any]) -> ManagerConnection:
        label = row.get(MANAGER)
        for conn in self.connections.values():
            if conn.label == label:
                return conn
        raise LookupError(f"no Manager {label!r} is watched any more")

    def _reset(self, model, label: str, rows: list[dict[str, Any]]) -> None:
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
        return str(row.get("name", "")) if row else ""

    # --- jobs --------------------------------------------------------------------------------------
    def _jobs_reset(self, conn: ManagerConnection, rows: list[dict[str, Any]]) -> None:
        for key in [k for k in self.jobs.keys() if k.startswith(conn.label + "/")]:
            self.pace.forget(key)
        self._reset(self.jobs, conn.label, rows)
        for row in rows:
            self.pace.job_changed(row_key(row), row)
        spawn(self._load_paces(conn, rows))

    def _jobs_changed(self, rows: list[dict[str, Any]]) -> None:
        """Job deltas: deleted jobs leave, a delta older than the row it would change is dropped
        (one that was on its way while a snapshot was read)."""
        fresh: list[dict[str, Any]] = []
        for row in rows:
            key = row_key(row)
            if row.get("was_deleted"):
                self.jobs.remove(key)
                self.pace.forget(key)
                fresh = [r for r in fresh if row_key(r) != key]  # its earlier deltas of this batch too
                continue
            known = self.jobs.row(key)
            if known is not None and _older(row.get("updated"), known.get("updated")):
                continue
            fresh.append(row)
        self.jobs.upsert_many(fresh)
        for row in fresh:
            key = row_key(row)
            merged = self.jobs.row(key)
            if merged is not None:
                self.pace.job_changed(key, merged)
                if merged.get("status") in FINISHED:
                    self.pace.tasks_stale(key)  # no ETA to keep: its place goes to a running job
                elif merged.get("status") == "active" and key not in self.pace.loaded:
                    conn = self._connection_of(key)
                    if conn is not None and len(self.pace.loaded) < PACE_JOBS:
                        spawn(self._load_paces(conn, [merged]))

    async def _load_paces(self, conn: ManagerConnection, rows: list[dict[str, Any]]) -> None:
        """Read the finished tasks of the most recently active jobs, for their ETA (one at a time,
        so no single answer holds the window up for long), from a Manager that gives no ETA itself."""
        if self.etas.gives(conn.label) is None:
            await self._load_etas(conn)
        if self.etas.gives(conn.label) is not False:
            return
        active = sorted((r for r in rows if r.get("status") == "active"),
                        key=lambda r: str(r.get("updated", "")), reverse=True)[:PACE_JOBS]
        for row in active:
            key = row_key(row)
            if key in self.pace.loaded or len(self.pace.loaded) >= PACE_JOBS:
                continue
            self.pace.loaded.add(key)  # claimed: no second read of it starts meanwhile
            try:
                # The plain JSON: the ETA needs four fields of each task, and decoding a thousand
                # tasks into wire models would hold the window up for tens of milliseconds.
                body = await conn.client.request("GET", f"/api/v3/jobs/{row['id']}/tasks")
                tasks = [t for t in (body or {}).get("tasks") or [] if isinstance(t, dict)]
            except Exception as exc:  # noqa: BLE001 - no ETA from its tasks, the farm's history serves
                _log.debug("no tasks for the ETA of %s: %s", row.get("id"), exc)
                self.pace.loaded.discard(key)
                continue
            if self.jobs.row(key) is not None:
                self.tasks_loaded(conn.label, row["id"], tasks)

    def _tasks_stale(self, label: str, job_id: str) -> None:
        """Many of a job's tasks changed at once: what the ETA knew of them is read again (the job's
        own event, which follows, starts that for an active job)."""
        self.pace.tasks_stale(f"{label}/{job_id}")
        self.job_tasks_stale.emit(label, job_id)

    def tasks_loaded(self, label: str, job_id: str, tasks: list[dict[str, Any]]) -> None:
        """A job's whole task list was read (by its detail pane, or for its ETA)."""
        row = self.jobs.row(f"{label}/{job_id}")
        if row is None or row.get("status") in FINISHED:
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
        jobs = [{"id": r["id"], MANAGER: label, "worker_tag": ""}
                for r in (self.jobs.row(k) for k in self.jobs.keys() if k.startswith(label + "/"))
                if r and r.get("worker_tag") == tag_id]
        self.jobs.upsert_many(jobs)
        workers = [{"id": r["id"], MANAGER: label,
                    "tags": [t for t in r.get("tags") or [] if t.get("id") != tag_id]}
                   for r in (self.workers.row(k) for k in self.workers.keys() if k.startswith(label + "/"))
                   if r and any(t.get("id") == tag_id for t in r.get("tags") or [])]
        self.workers.upsert_many(workers)

    # --- workers -----------------------------------------------------------------------------------
    def _workers_reset(self, label: str, rows: list[dict[str, Any]]) -> None:
        self._task_workers = {k: w for k, w in self._task_workers.items() if not k.startswith(label + "/")}
        self._reset(self.workers, label, rows)

    def _workers_changed(self, rows: list[dict[str, Any]]) -> None:
        fresh: list[dict[str, Any]] = []
        for row in rows:
            key = row_key(row)
            if row.get("deleted_at"):
                self.workers.remove(key)
                fresh = [r for r in fresh if row_key(r) != key]
                continue
            known = self.workers.row(key)
            if known is not None and _older(row.get("updated"), known.get("updated")):
                continue
            fresh.append(row)
        self.workers.upsert_many(fresh)

    def _vitals_changed(self, events: list[dict[str, Any]]) -> None:
        """Workers' new vitals: each replaces its worker's last ones (a field left out of a report
        is one the worker could not read, or a frame no longer rendered). No request is made: the
        event carries all the columns show. The worker was seen when it sent them."""
        updates = []
        for event in events:
            key = row_key(event)
            known = self.workers.row(key)
            if known is None:
                continue  # a worker the list does not have yet: its row comes with the vitals it is served
            update = {"id": event["id"], MANAGER: event[MANAGER], "vitals": event["vitals"]}
            if event.get("last_seen") and (not known.get("last_seen")
                                           or _older(known.get("last_seen"), event["last_seen"])):
                update["last_seen"] = event["last_seen"]
            updates.append(update)
        if updates:
            self.workers.upsert_many(updates)

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
                spawn(self._load_details(conn, sorted(ids)))

    async def _load_details(self, conn: ManagerConnection, ids: list[str]) -> None:
        limit = asyncio.Semaphore(8)

        async def one(worker_id: str) -> dict[str, Any] | None:
            async with limit:
                try:
                    worker = (await conn.client.worker(worker_id)).to_json()
                    schedule = await conn.client.sleep_schedule(worker_id)
                except Exception as exc:  # noqa: BLE001 - a worker deleted meanwhile, a lost Manager
                    _log.debug("no details for worker %s: %s", worker_id, exc)
                    return None
            worker["_sleep_schedule"] = schedule.to_json() if schedule is not None else {}
            worker.setdefault("task", None)
            worker[MANAGER] = conn.label
            return worker

        rows = [r for r in await asyncio.gather(*(one(i) for i in ids)) if r is not None]
        updates = []
        for found in rows:
            key = f"{conn.label}/{found['id']}"
            known = self.workers.row(key)
            if known is None:
                continue
            # Only what the worker events lack: status, last seen and the asked-for change come with
            # every event, and an event newer than this answer may already be in the row.
            update = {k: found.get(k) for k in DETAIL_FIELDS}
            update.update(id=found["id"], **{MANAGER: conn.label})
            task, shown = found.get("task"), known.get("task")
            if shown and (not task or _older(task.get("updated"), shown.get("updated"))):
                del update["task"]  # events told of a newer one meanwhile
            elif task and task.get("status") == "active":
                self._task_workers[f"{conn.label}/{task.get('id')}"] = key
            updates.append(update)
        if updates:
            self.workers.upsert_many(updates)

    def _task_progress_on_workers(self, label: str, rows: list[dict[str, Any]]) -> None:
        """A task's change shows on the worker running it: its progress while it is active there,
        and its end (the worker shows no task then)."""
        updates: dict[str, dict[str, Any]] = {}
        for row in rows:
            task_key = f"{label}/{row.get('id')}"
            worker = row.get("worker") or {}
            worker_id = worker.get("id") or worker.get("uuid")
            shown_on = self._task_workers.get(task_key)
            if worker_id and row.get("status") == "active":
                key = f"{label}/{worker_id}"
                if self.workers.row_of(key) < 0:
                    continue
                if shown_on and shown_on != key and self._shows(updates, shown_on, row.get("id")):
                    updates[shown_on] = {"id": shown_on.rsplit("/", 1)[1], MANAGER: label, "task": None}
                self._task_workers[task_key] = key
                updates[key] = {"id": worker_id, MANAGER: label, "task": {
                    "id": row.get("id"), "name": row.get("name", ""), "job_id": row.get("job_id", ""),
                    "status": "active", "updated": row.get("updated"),
                    "steps_completed": row.get("steps_completed"), "steps_total": row.get("steps_total")}}
            elif shown_on:
                del self._task_workers[task_key]
                if self._shows(updates, shown_on, row.get("id")):
                    shown = (updates.get(shown_on) or self.workers.row(shown_on) or {})["task"]
                    ended = {**shown, "status": row.get("status"), "updated": row.get("updated")}
                    updates[shown_on] = {"id": shown_on.rsplit("/", 1)[1], MANAGER: label, "task": ended}
        if updates:
            self.workers.upsert_many(list(updates.values()))

    def _shows(self, updates: dict[str, dict[str, Any]], worker_key: str, task_id: Any) -> bool:
        """Whether the worker's row (with this batch's updates) shows that task."""
        shown = (updates.get(worker_key) or self.workers.row(worker_key) or {}).get("task") or {}
        return bool(shown) and shown.get("id") == task_id

    def _task_paces(self, label: str, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            key = f"{label}/{row.get('job_id')}"
            if self.pace.task_changed(key, row):
                self._repaint(self.jobs, key)

    # --- actions (each goes to the Manager that owns the row) ------------------------------------------
    async def set_job_status(self, rows: Iterable[dict[str, Any]], status: str, reason: str) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.set_job_status(r["id"], status, reason))

    async def set_job_priority(self, rows: Iterable[dict[str, Any]], priority: int) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.set_job_priority(r["id"], priority))

    async def set_job_tag(self, rows: Iterable[dict[str, Any]], tag_name: str) -> list[str]:
        """Set the worker tag by name on each row's Manager ("" removes the tag)."""
        body = {"name": tag_name} if tag_name else {}
        return await self._each(rows, lambda c, r: c.client.request("POST", f"/api/v3/jobs/{r['id']}/settag", body))

    async def delete_jobs(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.delete_job(r["id"]))

    async def requeue_failed_tasks(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Requeue only the failed tasks of each job (the job itself follows the tasks)."""

        async def one(conn: ManagerConnection, row: dict[str, Any]) -> None:
            tasks = await conn.client.job_tasks(row["id"])
            for task in tasks:
                if task.status == "failed":
                    await conn.client.set_task_status(task.id, "queued", "requeued from the dashboard")

        return await self._each(rows, one)

    async def resubmit_jobs(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        """Submit each job again as a new job: same type, settings, priority and tag; this computer's
        user and host as its submitter. Its files stay where the first job had them."""

        async def one(conn: ManagerConnection, row: dict[str, Any]) -> None:
            job = await conn.client.job(row["id"])
            if job.storage and job.storage.shaman_checkout_id:
                raise ValueError("its files are in a Shaman checkout of its own; submit the .blend file "
                                 "again (Duplicate and edit)")
            await conn.client.submit_job(resubmission(job))

        return await self._each(rows, one)

    async def variables_here(self, row: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """The Manager's variables as users of this computer's platform see them (cached until its
        configuration changes)."""
        conn = self.connection_for(row)
        found = self._variables.get(conn.url)
        if found is None:
            from app.common.crosspath import current_platform

            resolved = await conn.client.resolved_variables("users", current_platform())
            found = {name: {"value": v.value, "is_twoway": bool(v.is_twoway)} for name, v in resolved.items()}
            self._variables[conn.url] = found
        return found

    async def request_worker_status(self, rows: Iterable[dict[str, Any]], status: str, lazy: bool) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.request_worker_status(r["id"], status, lazy))

    async def delete_workers(self, rows: Iterable[dict[str, Any]]) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.request("DELETE", f"/api/v3/worker-mgt/workers/{r['id']}"))

    async def sleep_schedule(self, row: dict[str, Any]) -> dict[str, Any]:
        conn = self.connection_for(row)
        found = await conn.client.request("GET", f"/api/v3/worker-mgt/workers/{row['id']}/sleep-schedule")
        return found or {}

    async def set_sleep_schedule(self, rows: Iterable[dict[str, Any]], schedule: dict[str, Any]) -> list[str]:
        return await self._each(rows, lambda c, r: c.client.request(
            "POST", f"/api/v3/worker-mgt/workers/{r['id']}/sleep-schedule", schedule))

    async def set_worker_tags(self, rows: Iterable[dict[str, Any]], tag_ids: list[str],
                              new_names: list[str]) -> list[str]:
        """Give each worker exactly these tags; new tag names are made on each row's Manager."""

        async def one(conn: ManagerConnection, row: dict[str, Any]) -> None:
            ids = [t for t in tag_ids if t in conn.tags]
            by_name = {name: tid for tid, name in conn.tags.items()}
            for name in new_names:
                if name in by_name:
                    ids.append(by_name[name])
                else:
                    made = await conn.client.request("POST", "/api/v3/worker-mgt/tags", {"name": name})
                    conn.tags[made["id"]] = name
                    ids.append(made["id"])
            await conn.client.request("POST", f"/api/v3/worker-mgt/workers/{row['id']}/settags", {"tag_ids": ids})

        return await self._each(rows, one)

    async def _each(self, rows: Iterable[dict[str, Any]], action) -> list[str]:
        """Run `action(conn, row)` for every row, in parallel; return the error messages."""

        async def run(row: dict[str, Any]) -> str | None:
            try:
                conn = self.connection_for(row)
                await action(conn, row)
            except Exception as exc:  # noqa: BLE001 - reported to the user in the Manager's words
                if getattr(exc, "status", 0) in (401, 403) and "admin token" in str(exc):
                    self.admin_token_needed.emit(conn.url, str(exc))
                return f"{row.get('name', row.get('id'))}: {exc}"
            return None

        results = await asyncio.gather(*(run(r) for r in rows))
        return [r for r in results if r]


ETA_EVERY_MS = 5000  # the Managers' ETAs are read again (each finished task moves them; no event says so)
PACE_JOBS = 30  # active jobs whose task lists are read for their ETA (the rest learn from events)
#: What a worker's details add to its row (the worker events lack these).
DETAIL_FIELDS = ("platform", "tags", "supported_task_types", "ip_address", "task", "_sleep_schedule")


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
