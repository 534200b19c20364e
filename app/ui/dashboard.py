"""`Dashboard`: the watched Managers, the combined job and worker models, and the actions.

One `ManagerConnection` per Manager feeds one jobs model and one workers model (rows carry their
Manager's label). Every action is sent to the Manager that owns the row, so with several Managers
the same table steers all of them. Actions are coroutines: the window awaits them from async slots
and shows a failure where the user acted.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from app.api.client import ManagerClient
from app.common.credentials import TokenStore, read_local_admin_token
from app.ui.aio import spawn
from app.ui.connection import CONNECTED, ManagerConnection
from app.ui.models.columns import MANAGER, jobs_model, workers_model

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

    def __init__(self, parent=None):
        super().__init__(parent)
        self.connections: dict[str, ManagerConnection] = {}
        self.jobs = jobs_model(self)
        self.workers = workers_model(self)
        self._details_wanted: dict[str, set[str]] = {}   # url -> worker ids
        self._details_timer = QTimer(self, singleShot=True, interval=500)
        self._details_timer.timeout.connect(self._fetch_details)

    # --- Managers --------------------------------------------------------------------------------
    def add_manager(self, url: str, client: ManagerClient | None = None, admin_token: str = "") -> ManagerConnection:
        url = url.rstrip("/")
        if url in self.connections:
            return self.connections[url]
        if client is None:
            client = ManagerClient(url, admin_token=admin_token or admin_token_for(url))
        conn = ManagerConnection(url, label=_label(url), client=client, parent=self)
        label = conn.label
        conn.jobs_reset.connect(lambda rows, label=label: self._reset(self.jobs, label, rows))
        conn.jobs_changed.connect(self.jobs.upsert_many)
        conn.jobs_changed.connect(self.job_events.emit)
        conn.workers_changed.connect(self.worker_events.emit)
        conn.workers_reset.connect(lambda rows, label=label: self._reset(self.workers, label, rows))
        conn.workers_reset.connect(lambda rows, conn=conn: self._want_details(conn, [r["id"] for r in rows]))
        conn.workers_changed.connect(lambda rows, conn=conn: self._want_details(conn, [r["id"] for r in rows]))
        conn.tasks_changed.connect(lambda rows, label=label: self._task_progress_on_workers(label, rows))
        conn.workers_changed.connect(self._workers_changed)
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

    def all_connected(self) -> bool:
        return all(c.state == CONNECTED for c in self.connections.values())

    def _reset(self, model, label: str, rows: list[dict[str, Any]]) -> None:
        if len(self.connections) <= 1:
            model.reset(rows)
            return
        keep = [model.row(k) for k in model.keys() if not k.startswith(label + "/")]
        model.reset([r for r in keep if r is not None] + rows)

    def _workers_changed(self, rows: list[dict[str, Any]]) -> None:
        for row in rows:
            if row.get("deleted_at"):
                self.workers.remove(f"{row.get(MANAGER, '')}/{row['id']}")
        self.workers.upsert_many([r for r in rows if not r.get("deleted_at")])

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
        known = [r for r in rows if self.workers.row_of(f"{conn.label}/{r['id']}") >= 0]
        if known:
            self.workers.upsert_many(known)

    def _task_progress_on_workers(self, label: str, rows: list[dict[str, Any]]) -> None:
        """A task's progress also shows on the worker running it."""
        updates = []
        for row in rows:
            worker = row.get("worker") or {}
            worker_id = worker.get("id") or worker.get("uuid")
            if worker_id and row.get("status") == "active" and self.workers.row_of(f"{label}/{worker_id}") >= 0:
                updates.append({"id": worker_id, MANAGER: label, "task": {
                    "id": row.get("id"), "name": row.get("name", ""), "job_id": row.get("job_id", ""),
                    "steps_completed": row.get("steps_completed"), "steps_total": row.get("steps_total")}})
        if updates:
            self.workers.upsert_many(updates)

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
