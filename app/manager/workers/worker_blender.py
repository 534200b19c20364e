"""The Blender a worker renders with, kept current from its vitals: the version a claim compares
with a job's file (scene requirements) may change without a new sign-on.

A worker says its Blender at sign-on (that of its configured `blender_exe` or PATH's); its vitals
then say the version of the Blender its last render ran, which is the one that counts when the
Manager's `{blender}` names another, or after an upgrade in place. Reports come every few seconds,
so the last version seen per worker is kept in memory and the store is written only when it changes
(and once after each sign-on, which may have stored another).
"""

from __future__ import annotations

import datetime as dt

from app.api.requirements import version_number
from app.manager.persistence.requirements import store_worker_blender
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.runner import StatusMachine


class WorkerBlenders:
    def __init__(self, machine: StatusMachine) -> None:
        self.machine = machine
        self._seen: dict[int, int] = {}  # worker row id -> the Blender number last stored from vitals
        self.writes = 0  # store writes (tests)

    def signed_on(self, worker_id: int) -> None:
        """The sign-on stored what the worker said then: the next report is compared with the store."""
        self._seen.pop(worker_id, None)

    async def reported(self, worker_id: int, version: object) -> None:
        """A vitals report's `blender_version`; a text that is no version changes nothing."""
        number = version_number(version) if isinstance(version, str) else None
        if number is None or self._seen.get(worker_id) == number:
            return
        self._seen[worker_id] = number
        self.writes += 1
        await self.machine.run_quick(_store_sync, worker_id, str(version), number)


def _store_sync(fx: Effects, now: dt.datetime, worker_id: int, version: str, number: int) -> None:
    if store_worker_blender(worker_id, version, number):
        fx.work_available = True  # a job that waited for a newer Blender may run now
