"""Workers' finished task runs, written in batches: the store side of a worker's day.

When a worker reports a task completed or failed, the report's transaction notes a run record (the
task's frames and steps, the seconds since it was handed out, the render time and peak memory the
worker read from Blender, the job's type and .blend file) in its effects; after the commit the record
waits here in memory and goes to the store with the others at most FLUSH_EVERY_S later, in one
INSERT. The report itself so costs no extra statement (claim and complete are the farm's hot path,
bench/farm.py). Reading a worker's day flushes first, and so does shutdown: a crash loses at most
FLUSH_EVERY_S of this history, never a task's status. Runs older than KEEP_DAYS are pruned once an
hour, with a flush.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

from app.manager.persistence import task_runs
from app.manager.persistence.task_runs import RunRecord
from app.manager.runtime.write_behind import WriteBehind

FLUSH_EVERY_S = 2.0
KEEP_DAYS = 35
PRUNE_EVERY_S = 3600.0
#: Characters of a .blend path kept as its history's key (a longer one is cut, never refused).
BLEND_KEY_MAX = 1000
#: Commands whose steps are frames: a completed task's frames are theirs.
RENDER_COMMANDS = frozenset({"blender-render"})

class RenderStats(NamedTuple):
    """What a worker read from Blender about a task's renders (None: not sent)."""

    render_time_s: float | None = None
    peak_memory_mb: float | None = None


NO_STATS = RenderStats()

# Runs `fn(fx, now, *args)` in a store transaction: `StatusMachine.run_quick`.
Runner = Callable[..., Awaitable[Any]]


def run_record(worker_id: int, task: Any, job: Any, outcome: str, now: dt.datetime,
               stats: RenderStats = NO_STATS) -> RunRecord:
    """The record of `task` and its `job` (store rows), which the worker just reported as `outcome`
    with the render statistics it read from Blender."""
    started = task.started_at
    seconds = max(0.0, (now - started).total_seconds()) if started is not None else 0.0
    frames = frames_of(task.commands) if outcome == "completed" else 0
    return RunRecord(worker_id, task.uuid, job.uuid, task.type, outcome, frames, seconds, now,
                     stats.render_time_s, stats.peak_memory_mb, max(1, task.steps_total or 0), job.job_type,
                     blend_key(job.settings, job.storage_shaman_checkout_id))


def blend_key(settings: Any, shaman_checkout_id: str | None) -> str:
    """The .blend file a job renders, as the history of that file knows it: the path as submitted, or,
    for a Shaman checkout (a new folder for each submission), the file's name; '' for none."""
    path = settings.get("blendfile") if isinstance(settings, Mapping) else None
    if not isinstance(path, str) or not path:
        return ""
    if shaman_checkout_id:
        return "shaman:" + path.replace("\\", "/").rsplit("/", 1)[-1][:BLEND_KEY_MAX]
    return path[:BLEND_KEY_MAX]


def frames_of(commands: Iterable[Mapping[str, Any]] | None) -> int:
    """How many frames a task's render commands render (their step counts)."""
    total = 0
    for command in commands or ():
        if isinstance(command, Mapping) and command.get("name") in RENDER_COMMANDS:
            steps = command.get("total_step_count")
            total += steps if isinstance(steps, int) and steps > 0 else 0
    return total


class TaskRunLog:
    def __init__(self, run: Runner, flush_every_s: float = FLUSH_EVERY_S,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self._run = run
        self._batch: WriteBehind[list[RunRecord]] = WriteBehind(
            "workers' finished task runs", self._write, list, _put_back, flush_every_s)
        self._monotonic = monotonic
        self._pruned = monotonic()

    @property
    def flushes(self) -> int:
        """Batches written (tests, benches)."""
        return self._batch.flushes

    def note(self, records: Sequence[RunRecord]) -> None:
        """Runs committed just now; they reach the store with the next batch."""
        self._batch.pending.extend(records)
        self._batch.soon()

    def unwritten(self) -> list[RunRecord]:
        """The runs noted but not yet handed to the store, oldest first (readers that must count them
        without a write of their own: the ETA)."""
        return list(self._batch.pending)

    async def flush(self) -> None:
        """Write what is pending now (before reading a day, and at shutdown); prune now and then."""
        await self._batch.flush(even_empty=self._prune_due())

    async def close(self) -> None:
        await self._batch.close()

    def _prune_due(self) -> bool:
        return self._monotonic() - self._pruned > PRUNE_EVERY_S

    async def _write(self, batch: list[RunRecord]) -> None:
        prune = self._prune_due()
        await self._run(_write_sync, batch, prune)
        if prune:
            self._pruned = self._monotonic()


def _put_back(pending: list[RunRecord], unwritten: list[RunRecord]) -> None:
    """Runs that were not written go first, in their order."""
    pending[:0] = unwritten


def _write_sync(fx: Any, now: dt.datetime, batch: list[RunRecord], prune: bool) -> None:
    task_runs.add_runs(batch)
    if prune:
        task_runs.prune(now - dt.timedelta(days=KEEP_DAYS))
