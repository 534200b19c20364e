"""Worker management for the dashboard: list, inspect, delete, status requests, tags, sleep schedules.

A worker's `task` is the task it runs now, none while it runs none (Flamenco shows the last one it
ran, which reads as if an idle worker were still busy with it).
"""

from __future__ import annotations

import datetime as dt
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.api.enums import WorkerStatus as W
from app.api.errors import BadRequest
from app.api.events import WorkerTagUpdate
from app.common import schedule
from app.manager.checks.input_checks import SHORT_MAX, TEXT_MAX, check_text, describe, text_list
from app.manager.credentials.auth import CredentialCache
from app.manager.jobs.convert import (
    sleep_schedule_json,
    tag_json,
    tag_model,
    worker_json,
    worker_summary_json,
)
from app.manager.persistence import workers
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.statuses import JOB_UNFINISHED, WORKER_REQUESTABLE
from app.manager.state_machine.workers import WorkerStatusMachine
from app.manager.workers.worker_vitals import WorkerVitalsBook

if TYPE_CHECKING:
    from app.manager.persistence.models import Worker


class WorkerAdmin:
    def __init__(self, machine: StatusMachine, creds: CredentialCache,
                 statuses: WorkerStatusMachine | None = None, vitals: WorkerVitalsBook | None = None):
        self.machine, self.creds = machine, creds
        self.statuses = statuses or WorkerStatusMachine()
        self.store = machine.store
        #: The workers' latest vitals (in memory); None: served without any.
        self.vitals = vitals

    async def list(self) -> list[dict[str, Any]]:
        return [self._live(w, worker_summary_json) for w in await self.store.call(workers.list_workers)]

    async def fetch(self, worker_uuid: str) -> dict[str, Any]:
        def load():
            worker = workers.fetch_worker(worker_uuid)
            return worker, workers.worker_tags(worker.id), workers.active_task(worker.id)
        worker, tags, task = await self.store.call(load)
        return self._live(worker, lambda w: worker_json(w, tags, task))

    def _live(self, worker: Worker, to_json: Callable[[Worker], dict[str, Any]]) -> dict[str, Any]:
        """The worker's JSON with what only memory holds: a fresher "last seen", and its vitals."""
        now = self.machine.clock.now().replace(tzinfo=None)
        worker.last_seen_at = self.machine.last_seen.seen_at(worker.id, worker.last_seen_at, now)
        out = to_json(worker)
        vitals = self.vitals.of(worker.uuid, worker.status) if self.vitals is not None else None
        if vitals is not None:
            out["vitals"] = vitals
        return out

    async def delete(self, worker_uuid: str) -> None:
        await self.machine.run(_delete_sync, self.statuses, worker_uuid)
        self.creds.remove(worker_uuid)

    async def request_status(self, worker_uuid: str, body: dict[str, Any]) -> None:
        try:
            status = W(body.get("status"))
        except ValueError:
            raise BadRequest(f"unknown worker status {describe(body.get('status'))}")
        if status not in WORKER_REQUESTABLE:
            raise BadRequest(f"a worker can be asked to go {', '.join(WORKER_REQUESTABLE)}, "
                             f"not {status.value!r}")
        await self.machine.run(_request_status_sync, self.statuses, worker_uuid, status,
                               bool(body.get("is_lazy", False)))

    async def set_tags(self, worker_uuid: str, body: dict[str, Any]) -> None:
        tag_ids = text_list(body.get("tag_ids"), "tag_ids")
        await self.machine.run(_set_tags_sync, worker_uuid, tag_ids)

    # --- tags ----------------------------------------------------------------------------------
    async def tags(self) -> list[dict[str, Any]]:
        return [tag_json(t) for t in await self.store.call(workers.list_tags)]

    async def tag(self, tag_uuid: str) -> dict[str, Any]:
        return tag_json(await self.store.call(workers.fetch_tag, tag_uuid))

    async def create_tag(self, body: dict[str, Any]) -> dict[str, Any]:
        given_uuid, name, description = _tag_fields(body)
        tag_uuid = given_uuid or str(uuidlib.uuid4())
        tag = await self.store.call(workers.create_tag, tag_uuid, name, description)
        self.machine.bus.emit(WorkerTagUpdate(tag_model(tag)))
        self.machine.waiters.work_available()
        return tag_json(tag)

    async def update_tag(self, tag_uuid: str, body: dict[str, Any]) -> None:
        _, name, description = _tag_fields(body)  # the tag is the one in the path, whatever `id` says
        tag = await self.store.call(workers.update_tag, tag_uuid, name, description)
        self.machine.bus.emit(WorkerTagUpdate(tag_model(tag)))

    async def delete_tag(self, tag_uuid: str) -> None:
        tag = await self.store.call(workers.fetch_tag, tag_uuid)
        await self.store.call(workers.delete_tag, tag_uuid, JOB_UNFINISHED)
        self.machine.bus.emit(WorkerTagUpdate(tag_model(tag), was_deleted=True))

    # --- sleep schedules -------------------------------------------------------------------------
    async def sleep_schedule(self, worker_uuid: str) -> dict[str, Any] | None:
        def load():
            return workers.fetch_sleep_schedule(workers.fetch_worker(worker_uuid).id)
        sched = await self.store.call(load)
        return sleep_schedule_json(sched) if sched else None

    async def set_sleep_schedule(self, worker_uuid: str, body: dict[str, Any]) -> None:
        try:
            window_fields = {
                "is_active": bool(body.get("is_active", False)),
                "days_of_week": schedule.clean_days(str(body.get("days_of_week") or "")),
                "start_time": _hhmm(body.get("start_time")), "end_time": _hhmm(body.get("end_time")),
            }
        except schedule.ScheduleError as exc:
            raise BadRequest(str(exc))
        await self.machine.run(_set_sleep_schedule_sync, worker_uuid, window_fields)
        self.machine.waiters.schedules.fire()  # the sleep scheduler re-evaluates now


def _hhmm(value: Any) -> str:
    t = schedule.parse_time(str(value or ""))
    return f"{t.hour:02d}:{t.minute:02d}"


def _tag_fields(body: dict[str, Any]) -> tuple[str, str, str]:
    """A `WorkerTag` body's id (empty when absent), name and description (empty when absent)."""
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("a worker tag needs a non-empty `name`")
    # Absent is empty; `null` is refused: Flamenco's document (resources/openapi/) declares both
    # `type: string`, not nullable.
    optional = {key: check_text(body[key], key, limit) if key in body else ""
                for key, limit in (("id", SHORT_MAX), ("description", TEXT_MAX))}
    return optional["id"].strip(), check_text(name, "name", SHORT_MAX).strip(), optional["description"]


def _delete_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, worker_uuid: str) -> None:
    statuses.deleted(fx, workers.fetch_worker(worker_uuid), now)


def _request_status_sync(fx: Effects, now: dt.datetime, statuses: WorkerStatusMachine, worker_uuid: str,
                         status: W, is_lazy: bool) -> None:
    statuses.requested_by_user(fx, workers.fetch_worker(worker_uuid), status, is_lazy, now)


def _set_tags_sync(fx: Effects, now: dt.datetime, worker_uuid: str, tag_ids: list[str]) -> None:
    worker = workers.fetch_worker(worker_uuid)
    workers.set_worker_tags(worker.id, tag_ids)
    workers.update_worker(worker.id, updated_at=now)
    worker.updated_at = now
    fx.worker_changed(worker)
    fx.work_available = True


def _set_sleep_schedule_sync(fx: Effects, now: dt.datetime, worker_uuid: str, window: dict[str, Any]) -> None:
    worker = workers.fetch_worker(worker_uuid)
    workers.set_sleep_schedule(worker.id, next_check=None, **window)
    # Said as a change of the worker, so a dashboard showing its schedule shows the new one.
    workers.update_worker(worker.id, updated_at=now)
    worker.updated_at = now
    fx.worker_changed(worker)
