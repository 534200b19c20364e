"""Which changes make the farm's last ETA reading wrong rather than merely a little old.

An ETA reading (`app.manager.jobs.job_eta`) rests on the unfinished jobs, their tasks, the workers
that take them and the speeds measured on finished runs. Most changes move it a little and evenly: a
task handed out or completed, a job's progress. A few change who works on what at once: a worker
signing on or off, going to sleep or being tagged, a job submitted, paused, requeued, finished or
given another tag (not a job going from queued to active: its first task was handed out).
`EtaFreshness` counts those few, from the event bus; a reading taken at an older count is not served
again, one taken at the current count may be served while a new one is read.
"""

from __future__ import annotations

from typing import Any

from app.api.enums import JobStatus
from app.common.events import JOB_DID_CHANGE, WORKER_DID_CHANGE, WORKER_TAG_DID_CHANGE, Event, EventBus

#: Job statuses between which a job's ETA moves little (`job_eta.ESTIMATED`, which imports this module).
_ESTIMATED = {JobStatus.QUEUED.value, JobStatus.ACTIVE.value}
#: Jobs whose worker tag is remembered (to see a tag change); past this many, the memory starts over.
TAGS_KEPT = 10_000


class EtaFreshness:
    """`generation` goes up on every change that makes an ETA reading wrong (see the module)."""

    def __init__(self, bus: EventBus) -> None:
        self.generation = 0
        self._tags: dict[str, str] = {}  # job uuid -> its worker tag id as last seen ("" for none)
        bus.add_listener(self._heard)

    def _heard(self, event: Event) -> None:
        workers = event.name in (WORKER_DID_CHANGE, WORKER_TAG_DID_CHANGE)
        if workers or (event.name == JOB_DID_CHANGE and self._job_moved(event.data)):
            self.generation += 1

    def _job_moved(self, data: dict[str, Any]) -> bool:
        """Whether a job's event is more than progress: a new job, a new status or a new tag."""
        moved = data.get("metadata") is not None or data.get("was_deleted") is not None
        previous = data.get("previous_status")
        if previous is not None:
            # From queued to active (its first task handed out) or back is how a job goes; the answer
            # moves with it as with its progress. Into or out of paused, finished and so on, it jumps.
            moved = moved or not {previous, data.get("status")} <= _ESTIMATED
        tag = data.get("worker_tag")
        if tag is not None:  # left out where the Manager did not have the tag at hand
            job = str(data.get("id"))
            if self._tags.get(job) != tag:
                if len(self._tags) >= TAGS_KEPT:
                    self._tags.clear()
                self._tags[job] = tag
                moved = True
        return moved
