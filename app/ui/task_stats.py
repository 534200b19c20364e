"""What each task of the shown job measured, in the job detail's task table: render time, peak memory
and the worker that ran it (its latest run, from `GET /api/v3/tablao/jobs/{id}/task-stats`).

The figures ride on each task row as its `run` (the task events never carry them, and folding an
event into a row keeps it). They are fetched with the job's tasks and again shortly after a task of the
job finishes (one fetch for a burst of them). A Flamenco Manager has no such route (404): its tasks
show empty cells, and nothing is asked again until the next job is shown.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.api.errors import HttpError
from app.api.task_stats import TaskRunStats
from app.ui.aio import spawn
from app.ui.models.columns import TASK_COLUMNS, TASK_ROWS
from app.ui.models.keyed_table import Column, KeyedTableModel
from app.ui.models.task_row import TaskRow

_log = logging.getLogger(__name__)
#: Task statuses a run ends in: a failure with retries left is soft-failed, and its run counts too.
FINISHED = ("completed", "failed", "soft-failed")
REFETCH_AFTER_MS = 1500  # a burst of finished tasks costs one fetch; the Manager flushes runs on asking


def render_time_text(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return ""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def memory_text(mb: Any) -> str:
    if not isinstance(mb, int | float):
        return ""
    return f"{mb:.0f} MB" if mb < 1024 else f"{mb / 1024:.2f} GB"


def _number(read):
    """A sort key: the figure, or -1 for a task without one (they sort first)."""
    def key(r: TaskRow) -> float:
        value = read(r.run) if r.run is not None else None
        return value if isinstance(value, int | float) else -1.0
    return key


def _tooltip(r: TaskRow) -> str:
    run = r.run
    return (f"Blender's render time of the task's frames; {run.seconds:.1f} s from hand-out to report"
            if run is not None else "")


STATS_COLUMNS = [
    Column("Render time", lambda r: render_time_text(r.run.render_time_s if r.run else None),
           sort=_number(lambda run: run.render_time_s), align_right=True, tooltip=_tooltip),
    Column("Peak memory", lambda r: memory_text(r.run.peak_memory_mb if r.run else None),
           sort=_number(lambda run: run.peak_memory_mb), align_right=True),
    Column("Ran on", lambda r: r.run.worker_name if r.run else "",
           tooltip=lambda r: f"{r.run.outcome} on {r.run.worker_name}" if r.run else ""),
]


#: Where the figures go: after the Worker column, where the eye is; "Ran on" (the same worker, unless the
#: task was requeued since) last.
AFTER_WORKER = 5


def job_tasks_model(parent=None) -> KeyedTableModel[TaskRow, Any]:
    """The job detail's task table: the task columns with what each task's latest run measured."""
    render, memory, ran_on = STATS_COLUMNS
    columns = [*TASK_COLUMNS[:AFTER_WORKER], render, memory, *TASK_COLUMNS[AFTER_WORKER:], ran_on]
    return KeyedTableModel(columns, TASK_ROWS, parent)


class TaskStatsFeed(QObject):
    """Keeps the `run` of the rows of one job's task table current."""

    def __init__(self, model: KeyedTableModel, parent: QObject | None = None):
        super().__init__(parent)
        self.model = model
        self._client: Any = None
        self._job_id = ""
        self._later = QTimer(self)
        self._later.setSingleShot(True)
        self._later.setInterval(REFETCH_AFTER_MS)
        self._later.timeout.connect(lambda: spawn(self._load()))

    async def load(self, client: Any, job_id: str) -> None:
        """Fetch the figures of `job_id`'s tasks now (after its tasks were loaded)."""
        self._client, self._job_id = client, job_id
        self._later.stop()
        await self._load()

    def tasks_changed(self, updates: list[Any]) -> None:
        """Task events of the shown job: fetch again shortly when one of them finished."""
        if self._client is not None and any(str(u.status) in FINISHED for u in updates) \
                and not self._later.isActive():  # a steady stream of finishes still fetches every 1.5 s
            self._later.start()

    async def _load(self) -> None:
        client, job_id = self._client, self._job_id
        if client is None or not job_id:
            return
        try:
            answer = await client.job_task_stats(job_id)
        except HttpError as exc:
            _log.info("no task statistics for job %s: %s", job_id, exc)
            if exc.status in (404, 405):  # a Flamenco Manager: the table stays without figures
                self._client = None
            return
        except Exception as exc:  # noqa: BLE001  (a lost Manager: the next finished task asks again)
            _log.info("no task statistics for job %s: %s", job_id, exc)
            return
        if job_id != self._job_id:
            return
        runs: dict[str, TaskRunStats] = {run.task_id: run for run in answer.tasks}

        def keep(row: TaskRow) -> None:
            row.run = runs[row.key]

        self.model.edit(runs, keep)
