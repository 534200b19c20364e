"""Workers' vitals: checked from each worker's report, kept in memory, served with the worker, and
published as `worker_vitals_did_change`, throttled.

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
from app.api.errors import BadRequest
from app.api.events import WORKER_VITALS_DID_CHANGE
from app.api.limits import is_number, is_whole, text_problem
from app.common.clock import Clock, to_rfc3339
from app.common.events import EventBus
from app.manager.checks.input_checks import describe
from app.manager.workers.last_seen import LastSeen

#: The most a vitals report may weigh; a real one is a few hundred bytes.
VITALS_BODY_MAX = 4096
EVENT_EVERY_S = 1.0
STALE_AFTER_S = 90.0
_PRUNE_EVERY_S = 60.0

MAX_GPUS = 16
_PERCENT = (0.0, 100.0)
_BYTES = (0, 1 << 50)  # a pebibyte: more memory than any worker has
_FRAME = (-1_048_574, 1_048_574)  # Blender's frame range
_SAMPLES = (0, 1 << 24)  # Cycles' most samples
_CPUS = (1, 65_536)
_TEXT_MAX = {"blender_version": 64, "name": 200}


def parse_vitals(body: dict[str, Any]) -> dict[str, Any]:
    """The vitals of a worker's report as the wire's `WorkerVitals` (without `updated`), or a 400 in words.

    A field may be left out (not sent as null); fields this Manager does not know are ignored, so a
    newer worker may send more.
    """
    out: dict[str, Any] = {}
    for key in ("cpu_percent", "render_cpu_percent"):
        _put(out, key, _number(body, key, *_PERCENT))
    for key, bounds in (("cpu_count", _CPUS), ("memory_used", _BYTES), ("memory_total", _BYTES),
                        ("render_memory", _BYTES), ("frame", _FRAME), ("sample", _SAMPLES),
                        ("samples_total", _SAMPLES)):
        _put(out, key, _whole(body, key, *bounds))
    _put(out, "blender_version", _text(body, "blender_version"))
    if "gpus" in body:
        _put(out, "gpus", _gpus(body["gpus"]))
    _check_pair(out, "memory_used", "memory_total")
    _check_pair(out, "sample", "samples_total")
    return out


def _put(out: dict[str, Any], key: str, value: Any) -> None:
    if value is not None:
        out[key] = value


def _number(body: dict[str, Any], key: str, low: float, high: float, where: str = "") -> float | None:
    if key not in body:
        return None
    value = body[key]
    if not is_number(value) or not math.isfinite(value):
        raise BadRequest(f"`{where}{key}` must be a number from {low:g} to {high:g}, not {describe(value)}")
    if not low <= value <= high:
        raise BadRequest(f"`{where}{key}` must be from {low:g} to {high:g}, not {value:g}")
    return round(float(value), 1)


def _whole(body: dict[str, Any], key: str, low: int, high: int, where: str = "") -> int | None:
    if key not in body:
        return None
    value = body[key]
    if not is_whole(value):
        raise BadRequest(f"`{where}{key}` must be a whole number from {low:,} to {high:,}, not {describe(value)}")
    if not low <= value <= high:
        raise BadRequest(f"`{where}{key}` must be from {low:,} to {high:,}, not {value:,}")
    return value


def _text(body: dict[str, Any], key: str, where: str = "") -> str | None:
    if key not in body:
        return None
    value = body[key]
    if not isinstance(value, str):
        raise BadRequest(f"`{where}{key}` must be a string, not {describe(value)}")
    problem = text_problem(value, _TEXT_MAX[key])
    if problem or not value.isprintable():
        raise BadRequest(f"`{where}{key}` {problem or 'must be printable text on one line'}")
    return value.strip() or None


def _gpus(value: Any) -> list[dict[str, Any]] | None:
    if not isinstance(value, list):
        raise BadRequest(f"`gpus` must be a list of objects, not {describe(value)}")
    if len(value) > MAX_GPUS:
        raise BadRequest(f"`gpus` may list at most {MAX_GPUS} GPUs (it lists {len(value)})")
    gpus = []
    for i, item in enumerate(value):
        where = f"gpus[{i}]."
        if not isinstance(item, dict):
            raise BadRequest(f"`gpus[{i}]` must be an object with a `name`, not {describe(item)}")
        name = _text(item, "name", where)
        if name is None:
            raise BadRequest(f"`{where}name` is required: the GPU's name, or \"unknown\"")
        gpu: dict[str, Any] = {"name": name}
        _put(gpu, "percent", _number(item, "percent", *_PERCENT, where))
        for key in ("memory_used", "memory_total"):
            _put(gpu, key, _whole(item, key, *_BYTES, where))
        _check_pair(gpu, "memory_used", "memory_total", where)
        gpus.append(gpu)
    return gpus or None


def _check_pair(out: dict[str, Any], part: str, whole: str, where: str = "") -> None:
    if part in out and whole in out and out[part] > out[whole]:
        raise BadRequest(f"`{where}{part}` ({out[part]:,}) cannot be more than `{where}{whole}` ({out[whole]:,})")


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
        """Keep a worker's new vitals (from `parse_vitals`); the worker was seen now."""
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
