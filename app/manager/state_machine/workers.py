"""The worker status machine: every change of a worker's status, or of the status asked of it.

Five parts of the Manager change worker statuses: the worker's own calls (sign-on, sign-off,
state-changed), the dashboard (status requests, deletion), the timeout checker and the sleep
scheduler. All of them go through `WorkerStatusMachine`. Every change persists, logs old -> new,
and publishes `worker_did_change` carrying the previous status (which also wakes the worker's
long-polls and the farm status).

Like the task machine (`tasks.py`), the methods are synchronous and run on the store thread inside
the caller's transaction, so a worker's new status and the tasks it gives back commit together or
not at all. The store thread serialises all writes, so it is this machine's lock: no transition
spans an `await`, so an `asyncio.Lock` around them would guard nothing more and would split the
one transaction the cascade into `return_worker_tasks` needs.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Protocol

from app.api.enums import WorkerStatus as W
from app.api.errors import PreconditionFailed
from app.manager.persistence import workers as workers_q
from app.manager.persistence.models import Worker
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.tasks import return_worker_tasks

_log = logging.getLogger(__name__)


class WorkerPersistence(Protocol):
    """What the machine needs from the store (`app.manager.persistence.workers` fits)."""

    def update_worker(self, worker_id: int, **fields: Any) -> None: ...

    def soft_delete(self, worker_id: int, now: dt.datetime) -> None: ...


class TaskReturner(Protocol):
    """Gives back the active tasks of a worker that went away (`return_worker_tasks` fits)."""

    def __call__(self, fx: Effects, worker: Worker, now: dt.datetime, reason: str) -> None: ...


class WorkerStatusMachine:
    """Worker transitions. Each method takes the loaded `worker` row and updates it in place."""

    def __init__(self, persistence: WorkerPersistence = workers_q,
                 return_tasks: TaskReturner = return_worker_tasks):
        self._store, self._return_tasks = persistence, return_tasks

    # --- what the worker tells the Manager -----------------------------------------------------
    def registered(self, fx: Effects, worker: Worker) -> None:
        """A new worker row exists (status offline until it signs on)."""
        fx.worker_changed(worker)

    def signed_on(self, fx: Effects, worker: Worker, now: dt.datetime) -> None:
        # Tasks it had before it went away are not coming back from this process.
        self._return_tasks(fx, worker, now, "worker signed on again")
        self._change(fx, worker, W.STARTING, now, "signed on", last_seen_at=now)

    def signed_off(self, fx: Effects, worker: Worker, now: dt.datetime) -> None:
        extra: dict[str, Any] = {"last_seen_at": now}
        if worker.status_requested in (W.OFFLINE, W.RESTART):
            extra.update(status_requested="", lazy_status_request=False)
        elif not worker.status_requested and worker.status in (W.AWAKE, W.ASLEEP):
            # Remember where it was, so the next sign-on brings it back there.
            extra.update(status_requested=worker.status, lazy_status_request=False)
        self._return_tasks(fx, worker, now, "worker signed off")
        self._change(fx, worker, W.OFFLINE, now, "signed off", **extra)

    def reported(self, fx: Effects, worker: Worker, status: W, now: dt.datetime) -> None:
        """The worker says it is now in `status` (state-changed); a request it met is withdrawn."""
        extra: dict[str, Any] = {"last_seen_at": now}
        if worker.status_requested == status:
            extra.update(status_requested="", lazy_status_request=False)
        if status != W.AWAKE:
            self._return_tasks(fx, worker, now, f"worker {worker.name} changed status to '{status.value}'")
        self._change(fx, worker, status, now, "reported by the worker", **extra)

    # --- what the Manager decides --------------------------------------------------------------
    def timed_out(self, fx: Effects, worker: Worker, now: dt.datetime) -> None:
        _log.warning("worker %s timed out", worker.name)
        self._return_tasks(fx, worker, now, "worker timed out")
        # Asking for `awake` lets a worker that was only unreachable recover on its next call.
        self._change(fx, worker, W.ERROR, now, "timed out",
                     status_requested=W.AWAKE.value, lazy_status_request=False)

    def deleted(self, fx: Effects, worker: Worker, now: dt.datetime) -> None:
        self._return_tasks(fx, worker, now, "worker is being deleted")
        previous = worker.status
        self._store.soft_delete(worker.id, now)
        worker.deleted_at, worker.status, worker.updated_at = now, W.OFFLINE.value, now
        _log.info("worker %s deleted (was %s)", worker.name, previous)
        fx.worker_changed(worker, previous)

    def requested_by_user(self, fx: Effects, worker: Worker, status: W, lazy: bool,
                          now: dt.datetime) -> None:
        """Ask the worker to go to `status`; asking for its current status withdraws any request."""
        if status == W.RESTART and not worker.can_restart:
            raise PreconditionFailed(f"worker {worker.name} cannot restart itself (it was started "
                                     "without a restart exit code)")
        if status == worker.status:
            self._request(fx, worker, "", False, now)
        else:
            self._request(fx, worker, status.value, lazy, now)

    def requested_by_schedule(self, fx: Effects, worker: Worker, wanted: W, now: dt.datetime) -> None:
        """The sleep schedule wants the worker `wanted`; workers that are away are left alone."""
        if worker.status in (W.ERROR, W.OFFLINE, wanted) or worker.status_requested == wanted:
            return
        self._request(fx, worker, wanted.value, False, now)

    # --- the two primitives --------------------------------------------------------------------
    def _change(self, fx: Effects, worker: Worker, new: W, now: dt.datetime, reason: str,
                **extra: Any) -> None:
        previous = worker.status
        worker.status, worker.updated_at = new.value, now
        for key, value in extra.items():
            setattr(worker, key, value)
        self._store.update_worker(worker.id, status=new.value, updated_at=now, **extra)
        if previous != new:
            _log.info("worker %s changed status %s -> %s: %s", worker.name, previous or "(new)",
                      new.value, reason)
        fx.worker_changed(worker, previous)

    def _request(self, fx: Effects, worker: Worker, requested: str, lazy: bool, now: dt.datetime) -> None:
        worker.status_requested, worker.lazy_status_request, worker.updated_at = requested, lazy, now
        self._store.update_worker(worker.id, status_requested=requested, lazy_status_request=lazy,
                                  updated_at=now)
        fx.worker_changed(worker)
