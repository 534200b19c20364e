"""A worker's day, as the Manager's store holds it: tasks completed and failed since a moment (the
asker's local midnight), the frames of the completed render tasks, the time spent on them all, and
the worker's newest frame.

Computed from the store (`task_runs`, written by `app.manager.workers.task_runs`) and the worker's kept
frame (`app.manager.pictures.worker_frames`), so it survives a Manager restart; pending runs are flushed
first, so a task reported a moment ago counts.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from app.api.errors import BadRequest
from app.api.workers import WorkerDay
from app.common.clock import parse_rfc3339, to_rfc3339
from app.manager.checks.input_checks import describe
from app.manager.persistence import task_runs, workers
from app.manager.pictures.worker_frames import WorkerFrames
from app.manager.state_machine.runner import StatusMachine
from app.manager.workers.task_runs import KEEP_DAYS

#: How far back a day may start: the history kept, less a margin.
MAX_DAYS_BACK = KEEP_DAYS - 4


class WorkerDays:
    def __init__(self, machine: StatusMachine, frames: WorkerFrames | None) -> None:
        self.machine, self.frames = machine, frames

    async def day(self, worker_uuid: str, since_text: str | None) -> dict[str, Any]:
        """The worker's `WorkerDay` since `since_text` (RFC 3339); 400 in words for a bad `since`, 404
        for an unknown worker."""
        since = self._since(since_text)
        await self.machine.runs.flush()

        def load() -> tuple[str, task_runs.RunTotals]:
            worker = workers.fetch_worker(worker_uuid)
            return worker.uuid, task_runs.totals_since(worker.id, since)
        uuid, totals = await self.machine.store.call(load)
        last = self.frames.info(uuid) if self.frames is not None else None
        return {**WorkerDay(worker_id=uuid, since=to_rfc3339(since) or "", tasks_completed=totals.completed,
                            tasks_failed=totals.failed, frames_rendered=totals.frames,
                            seconds=round(totals.seconds, 1)).to_json(),
                **({"last_frame": last} if last else {})}

    def _since(self, text: str | None) -> dt.datetime:
        """`since` as naive UTC, like the store's times."""
        example = "e.g. your local midnight, 2026-05-04T00:00:00+02:00"
        if not text:
            raise BadRequest(f"`since` is required: the moment the day starts, in RFC 3339 ({example})")
        try:
            since = parse_rfc3339(text) if len(text) <= 64 else None
        except ValueError:
            since = None
        if since is None:
            raise BadRequest(f"`since` must be a time in RFC 3339 ({example}), not {describe(text)}")
        now = self.machine.clock.now()
        if not now - dt.timedelta(days=MAX_DAYS_BACK) <= since <= now + dt.timedelta(days=1):
            raise BadRequest(f"`since` must be within the last {MAX_DAYS_BACK} days (the history this "
                             f"Manager keeps), not {text}")
        return since.astimezone(dt.UTC).replace(tzinfo=None)
