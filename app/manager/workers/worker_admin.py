"""Worker management for the dashboard: list, inspect, delete, status requests, tags, sleep schedules.

A worker's `task` is the task it runs now, none while it runs none (Flamenco shows the last one it
ran, which reads as if an idle worker were still busy with it).
"""

from __future__ import annotations

import builtins  # `list` inside the class below names its own list() method
import datetime as dt
import uuid as uuidlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.api.enums import WorkerStatus as W
from app.api.errors import BadRequest
from app.api.events import WorkerTagUpdate
from app.api.workers import WorkerSleepSchedule, WorkerStatusChangeRequest, WorkerTag, WorkerTagChangeRequest
from app.common import schedule
from app.manager.credentials.auth import CredentialCache
from app.manager.jobs.convert import (
    sleep_schedule_json,
    tag_json,
    tag_model,
    worker_json,
    worker_summary_json,
)
from app.manager.jobs.requirements import facts_json
from app.manager.persistence import workers
from app.manager.persistence.requirements import worker_facts
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.runner import StatusMachine
from app.manager.state_machine.statuses import JOB_UNFINISHED
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
            return worker, workers.worker_tags(worker.id), workers.active_task(worker.id), worker_facts(worker.id)
        worker, tags, task, facts = await self.store.call(load)
        return {**self._live(worker, lambda w: worker_json(w, tags, task)), **facts_json(facts)}

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

    async def request_status(self, worker_uuid: str, body: WorkerStatusChangeRequest) -> None:
        # The model allows only the statuses a worker can be asked to go to.
        await self.machine.run(_request_status_sync, self.statuses, worker_uuid, body.status, body.is_lazy)

    async def set_tags(self, worker_uuid: str, body: WorkerTagChangeRequest) -> None:
        await self.machine.run(_set_tags_sync, worker_uuid, body.tag_ids)

    # --- tags ----------------------------------------------------------------------------------
    async def tags(self) -> builtins.list[dict[str, Any]]:
        return [tag_json(t) for t in await self.store.call(workers.list_tags)]

    async def tag(self, tag_uuid: str) -> dict[str, Any]:
        return tag_json(await self.store.call(workers.fetch_tag, tag_uuid))

    async def create_tag(self, body: WorkerTag) -> dict[str, Any]:
        given_uuid, name, description = _tag_fields(body)
        tag_uuid = given_uuid or str(uuidlib.uuid4())
        tag = await self.store.call(workers.create_tag, tag_uuid, name, description)
        self.machine.bus.emit(WorkerTagUpdate(tag_model(tag)))
        self.machine.waiters.work_available()
        return tag_json(tag)

    async def update_tag(self, tag_uuid: str, body: WorkerTag) -> None:
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

    async def set_sleep_schedule(self, worker_uuid: str, body: WorkerSleepSchedule) -> None:
        try:
            window_fields = {
                "is_active": body.is_active, "days_of_week": schedule.clean_days(body.days_of_week),
                "start_time": _hhmm(body.start_time), "end_time": _hhmm(body.end_time),
            }
        except schedule.ScheduleError as exc:
            raise BadRequest(str(exc)) from exc
        await self.machine.run(_set_sleep_schedule_sync, worker_uuid, window_fields)
        self.machine.waiters.schedules.fire()  # the sleep scheduler re-evaluates now


def _hhmm(value: str) -> str:
    t = schedule.parse_time(value)
    return f"{t.hour:02d}:{t.minute:02d}"


def _tag_fields(body: WorkerTag) -> tuple[str, str, str]:
    """A `WorkerTag` body's id (empty when absent), name and description (empty when absent)."""
    return (body.id or "").strip(), body.name.strip(), body.description or ""


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
