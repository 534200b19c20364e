"""Workers' vitals: each worker's report (checked by its request model, `TablaoWorkerVitalsReport`)
rounded and trimmed, kept in memory, served with the worker, and published as
`worker_vitals_did_change`, throttled.

Vitals are ephemeral on purpose, and never go to the store: what a machine's CPU did a few seconds
ago is worth nothing after a restart, and a write per worker every few seconds would cost the
farm's hot path for nothing. A Manager that restarts knows none until each worker's next report,
a few seconds later. Vitals older than `STALE_AFTER_S`, or of a worker the Manager has as offline,
are not served: the API then shows none, as for a stock Flamenco worker, which never sends any.

Events: at most one per worker per `EVENT_EVERY_S`. A report inside that window is held and
published when the window ends (the newest one held wins), so a worker's last frame change always
reaches the dashboards, and a worker that reports too often costs them nothing more.

Memory: one entry per worker that reported (workers are authenticated); entries of workers that
stopped reporting are dropped once stale.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.api.enums import WorkerStatus
from app.api.events import WORKER_VITALS_DID_CHANGE
from app.api.workers import TablaoWorkerVitalsReport
from app.common.clock import Clock, to_rfc3339
from app.common.events import EventBus
from app.manager.workers.last_seen import LastSeen

#: The most a vitals report may weigh; a real one is a few hundred bytes.
VITALS_BODY_MAX = 4096
EVENT_EVERY_S = 1.0
STALE_AFTER_S = 90.0
_PRUNE_EVERY_S = 60.0

def kept_vitals(report: TablaoWorkerVitalsReport) -> dict[str, Any]:
    """A worker's report (decoded and checked with its model) as the wire's `WorkerVitals`, without
    `updated`: percentages rounded to a tenth, texts trimmed (a blank Blender version is left out),
    an empty list of GPUs left out."""
    for key in ("cpu_percent", "render_cpu_percent"):
        setattr(report, key, _tenth(getattr(report, key)))
    report.blender_version = (report.blender_version or "").strip() or None
    for gpu in report.gpus or ():
        gpu.name, gpu.percent = gpu.name.strip(), _tenth(gpu.percent)
    report.gpus = report.gpus or None
    return report.to_json()


def _tenth(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


@dataclass(slots=True)
class _Entry:
    received: float  # monotonic
    vitals: dict[str, Any]  # the wire's WorkerVitals, `updated` included
    last_event: float = -math.inf
    held: asyncio.TimerHandle | None = None


class WorkerVitalsBook:
    """The latest vitals per worker (in memory only; see the module's docstring)."""

    def __init__(self, bus: EventBus, clock: Clock, last_seen: LastSeen | None = None, *,
                 event_every_s: float = EVENT_EVERY_S, stale_after_s: float = STALE_AFTER_S,
                 monotonic: Callable[[], float] = time.monotonic):
        self.bus, self.clock, self.last_seen = bus, clock, last_seen
        self.event_every_s, self.stale_after_s = event_every_s, stale_after_s
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        self._pruned = monotonic()
        self.reports = 0  # received (tests, benches)

    def receive(self, worker_id: int, worker_uuid: str, vitals: dict[str, Any]) -> None:
        """Keep a worker's new vitals (from `kept_vitals`); the worker was seen now."""
        now = self.clock.now()
        mono = self._monotonic()
        if self.last_seen is not None:
            self.last_seen.note(worker_id, now.replace(tzinfo=None))
        entry = self._entries.get(worker_uuid)
        if entry is None:
            entry = self._entries[worker_uuid] = _Entry(mono, {})
        entry.received, entry.vitals = mono, {"updated": to_rfc3339(now), **vitals}
        self.reports += 1
        wait = entry.last_event + self.event_every_s - mono
        if wait <= 0:
            self._publish(worker_uuid, entry)
        elif entry.held is None:
            entry.held = asyncio.get_running_loop().call_later(wait, self._publish_held, worker_uuid)
        if mono - self._pruned > _PRUNE_EVERY_S:
            self._prune(mono)

    def of(self, worker_uuid: str, status: str) -> dict[str, Any] | None:
        """The worker's vitals to serve: None when it sent none lately, or is offline."""
        entry = self._entries.get(worker_uuid)
        if entry is None or status in ("", WorkerStatus.OFFLINE):
            return None
        if self._monotonic() - entry.received > self.stale_after_s:
            return None
        return entry.vitals

    def _publish_held(self, worker_uuid: str) -> None:
        entry = self._entries.get(worker_uuid)
        if entry is not None:
            entry.held = None
            self._publish(worker_uuid, entry)

    def _publish(self, worker_uuid: str, entry: _Entry) -> None:
        entry.last_event = self._monotonic()
        # Written out, as the wire's WorkerVitalsUpdate: the vitals are already its JSON. The worker
        # was seen when it sent them.
        self.bus.publish(WORKER_VITALS_DID_CHANGE, {"id": worker_uuid, "vitals": entry.vitals,
                                                    "last_seen": entry.vitals["updated"]})

    def _prune(self, mono: float) -> None:
        self._pruned = mono
        for uuid in [u for u, e in self._entries.items() if mono - e.received > self.stale_after_s]:
            entry = self._entries.pop(uuid)
            if entry.held is not None:
                entry.held.cancel()

    def close(self) -> None:
        for entry in self._entries.values():
            if entry.held is not None:
                entry.held.cancel()
        self._entries.clear()
