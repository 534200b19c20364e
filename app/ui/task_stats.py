"""What each task of the shown job measured, in the job detail's task table: render time, peak memory
and the worker that ran it (its latest run, from `GET /api/v3/tablao/jobs/{id}/task-stats`).

The figures ride on each task row as `_run` (the task events never carry them, and merging an event
into a row keeps it). They are fetched with the job's tasks and again shortly after a task of the
job finishes (one fetch for a burst of them). A Flamenco Manager has no such route: its tasks show
empty cells, and nothing is asked again until the next job is shown.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.ui.aio import spawn
from app.ui.models.columns import TASK_COLUMNS
from app.ui.models.keyed_table import Column, KeyedTableModel, Row

_log = logging.getLogger(__name__)
RUN = "_run"
FINISHED = ("completed", "failed")
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


def _run(row: Row) -> dict[str, Any]:
    return row.get(RUN) or {}


def _number(key: str):
    return lambda r: _run(r).get(key, -1.0) if isinstance(_run(r).get(key), int | float) else -1.0


STATS_COLUMNS = [
    Column("Render time", lambda r: render_time_text(_run(r).get("render_time_s")),
           sort=_number("render_time_s"), align_right=True,
           tooltip=lambda r: f"Blender's render time of the task's frames; {_run(r).get('seconds', 0):.1f} s "
                             "from hand-out to report" if _run(r) else ""),
    Column("Peak memory", lambda r: memory_text(_run(r).get("peak_memory_mb")), sort=_number("peak_memory_mb"),
           align_right=True),
    Column("Ran on", lambda r: str(_run(r).get("worker_name", "")),
           tooltip=lambda r: f"{_run(r).get('outcome', '')} on {_run(r).get('worker_name', '')}" if _run(r) else ""),
]


#: Where the figures go: after the Worker column, where the eye is; "Ran on" (the same worker, unless the
#: task was requeued since) last.
AFTER_WORKER = 5


def job_tasks_model(parent=None) -> KeyedTableModel:
    """The job detail's task table: the task columns with what each task's latest run measured."""
    render, memory, ran_on = STATS_COLUMNS
    columns = [*TASK_COLUMNS[:AFTER_WORKER], render, memory, *TASK_COLUMNS[AFTER_WORKER:], ran_on]
    return KeyedTableModel(columns, lambda r: str(r["id"]), parent)


class TaskStatsFeed(QObject):
    """Keeps the `_run` of the rows of one job's task table current."""

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

    def tasks_changed(self, rows: list[Row]) -> None:
        """Task events of the shown job: fetch again shortly when one of them finished."""
        if self._client is not None and any(r.get("status") in FINISHED for r in rows) \
                and not self._later.isActive():  # a steady stream of finishes still fetches every 1.5 s
            self._later.start()

    async def _load(self) -> None:
        client, job_id = self._client, self._job_id
        if client is None or not job_id:
            return
        try:
            answer = await client.job_task_stats(job_id)
        except Exception as exc:  # noqa: BLE001  (a Flamenco Manager: 404; the table stays without figures)
            _log.info("no task statistics for job %s: %s", job_id, exc)
            self._client = None
            return
        if job_id != self._job_id:
            return
        self.model.upsert_many({"id": run.task_id, RUN: run.to_json()} for run in answer.tasks
                               if self.model.row(run.task_id) is not None)
