"""Preview frames first: the hand-out order of a render job's chunks, and what a failed preview does.

A render job's chunks (tasks with a `blender-render` command) are handed out first, last and middle
chunk first, then the two quarters, then the rest in frame order: an artist sees within minutes
whether the shot renders at both ends and in the middle, instead of finding a broken frame 90 at
the end of the night. Those up to five chunks are the job's preview tasks; they get negative
hand-out ranks (`tasks.hand_out_rank`, which the scheduler orders on within a job), the other tasks
keep their place in the job as their rank. `index_in_job` is untouched, so pages list frame order.

Per job, as a job setting (true/false) or metadata value ("true"/"false"), a Tablao extension that
Flamenco's add-on neither sends nor needs:
- `preview_first` (default on): off gives plain order;
- `pause_on_preview_failure` (default off): a worker's failure report of a preview task pauses the
  job. Either way such a failure is told: the job's activity says so, and its job event carries it
  to the dashboard.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from app.api.enums import JobStatus as J
from app.api.errors import BadRequest
from app.manager.job_compilers.author import AuthoredJob, AuthoredTask
from app.manager.persistence import jobs as jobs_q
from app.manager.persistence.models import Job, Task
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.tasks import change_job_status

RENDER_COMMAND = "blender-render"
PREVIEW_FIRST = "preview_first"
PAUSE_ON_PREVIEW_FAILURE = "pause_on_preview_failure"
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def preview_positions(count: int) -> list[int]:
    """Positions (0-based) of `count` chunks to hand out first: first, last, middle, the quarters."""
    if count <= 0:
        return []
    last = count - 1
    picks: list[int] = []
    for pos in (0, last, last // 2, last // 4, (3 * last) // 4):
        if pos not in picks:
            picks.append(pos)
    return picks


def hand_out_ranks(authored: AuthoredJob) -> list[int]:
    """Each task's hand-out rank, in task order; BadRequest for an unreadable option."""
    ranks = [task.index_in_job for task in authored.tasks]
    if not option(authored.settings, authored.metadata, PREVIEW_FIRST, default=True):
        return ranks
    option(authored.settings, authored.metadata, PAUSE_ON_PREVIEW_FAILURE, default=False)  # checked now
    renders = [i for i, task in enumerate(authored.tasks) if _is_render(task)]
    picks = preview_positions(len(renders))
    for order, pos in enumerate(picks):
        ranks[renders[pos]] = order - len(picks)  # -5 .. -1: before every other task of the job
    return ranks


def option(settings: Mapping[str, Any], metadata: Mapping[str, Any], key: str, default: bool) -> bool:
    """A per-job switch from the job's settings (wins) or metadata."""
    value = settings.get(key, metadata.get(key))
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadRequest(f"`{key}` must be true or false, not {str(value)[:40]!r}")


def is_preview(task: Task) -> bool:
    return task.hand_out_rank < 0


def _is_render(task: AuthoredTask) -> bool:
    return any(command["name"] == RENDER_COMMAND for command in task.commands)


def preview_failed(fx: Effects, task: Task, job: Job, now: dt.datetime) -> None:
    """A worker failed one of the job's preview tasks: say so, and pause the job if it asked for that."""
    if not is_preview(task):
        return
    wants_pause = _safe_option(job, PAUSE_ON_PREVIEW_FAILURE)
    pausing = wants_pause and job.status in (J.ACTIVE, J.QUEUED)
    text = f"Preview task {task.name} failed" + ("; the job is paused" if pausing else "; check the frame")
    fx.log(job.uuid, task.uuid, text)
    if pausing:
        change_job_status(fx, job, J.PAUSE_REQUESTED, now, f"preview task {task.name} failed")
    job.activity = text
    job.updated_at = now
    jobs_q.update_job(job.id, activity=text, updated_at=now)
    fx.job_changed(job, None)


def _safe_option(job: Job, key: str) -> bool:
    try:
        return option(job.settings or {}, job.metadata or {}, key, default=False)
    except BadRequest:
        return False  # checked at submission; a stored oddity must not break a failure report

