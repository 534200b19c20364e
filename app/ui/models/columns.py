"""Column sets of the dashboard's tables.

Every cell is a function of its row (plus, where a row alone cannot say, a lookup the dashboard
passes in: a tag's current name, a job's pace, a job's name for a worker's task), so what a table
shows is exactly what the Manager said last. Statuses are shown in the wire's words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.api.events import TaskUpdate
from app.ui.manager_eta import eta_sort_key, job_eta_words
from app.ui.models import vitals_words as vw
from app.ui.models.formats import (
    ago,
    elapsed,
    elapsed_text,
    frames,
    frames_text,
    job_fraction,
    job_percent,
    local_time,
    now,
    parse_time,
    steps_fraction,
    submitter,
)
from app.ui.models.job_row import JobDelta, JobRow
from app.ui.models.keyed_table import Column, KeyedTableModel, RowKind
from app.ui.models.task_row import TaskRow
from app.ui.models.worker_row import WorkerDelta, WorkerRow

__all__ = ["parse_time", "local_time", "ago", "short_time",
           "jobs_model", "tasks_model", "workers_model", "column_of", "CONNECTED"]

#: Worker statuses in which the Manager hears from the worker all the time (it would time out to
#: `error` after `worker_timeout` otherwise): for these "Last seen" is now.
CONNECTED = frozenset({"starting", "awake", "asleep", "testing", "restart"})

TagName = Callable[[str, str], str]          # (Manager label, tag id) → its name now
JobName = Callable[[str, str], str]          # (Manager label, job id) → its name


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def short_time(text: Any, at: datetime | None = None) -> str:
    """Short for a table: "14:03:27" today, "Dec 5 14:03" this year, "2025-12-05" before."""
    when = parse_time(text)
    if when is None:
        return ""
    when, today = when.astimezone(), (at or now()).astimezone()
    if when.date() == today.date():
        return when.strftime("%H:%M:%S")
    if when.year == today.year:
        return f"{_MONTHS[when.month - 1]} {when.day} {when.strftime('%H:%M')}"
    return when.strftime("%Y-%m-%d")


def short_id(row: JobRow) -> str:
    """The first 8 characters of the job's id: enough to tell two jobs of the same name apart."""
    return row.job.id[:8]


def _sort_time(text: Any) -> float:
    when = parse_time(text)
    return when.timestamp() if when is not None else 0.0


def _time_column(title: str, when: Callable[[Any], str]) -> Column:
    return Column(title, lambda r: short_time(when(r)), sort=lambda r: _sort_time(when(r)),
                  tooltip=lambda r: local_time(when(r)))


def job_columns(pace: Callable[[JobRow], Any] | None = None, tag_name: TagName | None = None) -> list[Column]:
    """Columns of `JobRow`s, each a function of the row's `Job`. `pace(row)`: the job's ETA as its
    Manager gives it (`app.ui.manager_eta`), else the dashboard's own `app.ui.job_pace.Pace`, or None;
    `tag_name`: a tag id's current name."""
    def tag(r: JobRow) -> str:
        tag_id = r.job.worker_tag or ""
        return (tag_name(r.manager, tag_id) if tag_name else "") or tag_id if tag_id else ""

    def eta(r: JobRow) -> tuple[str, str]:
        return job_eta_words(r.job, pace(r) if pace is not None else None)

    def job_id(r: JobRow) -> str:
        return r.job.id

    return [
        Column("Status", lambda r: str(r.job.status)),
        Column("Progress", lambda r: job_percent(r.job), sort=lambda r: job_fraction(r.job),
               progress=lambda r: job_fraction(r.job)),
        Column("Name", lambda r: r.job.name, tooltip=job_id),
        Column("ID", short_id, tooltip=job_id),
        site_column(),
        Column("Frames", lambda r: frames_text(r.job), sort=lambda r: frames(r.job)[0], align_right=True,
               tooltip=lambda r: "{} of {} {} done".format(*frames(r.job))),
        Column("Elapsed", lambda r: elapsed_text(r.job), sort=lambda r: elapsed(r.job) or 0.0, align_right=True),
        Column("ETA", lambda r: eta(r)[0], tooltip=lambda r: eta(r)[1],
               sort=lambda r: eta_sort_key(r.job, pace(r) if pace is not None else None)),
        Column("Submitter", lambda r: submitter(r.job)),
        Column("Type", lambda r: r.job.type),
        Column("Prio", lambda r: str(r.job.priority), sort=lambda r: r.job.priority, align_right=True),
        Column("Tag", tag),
        _time_column("Created", lambda r: r.job.created),
        _time_column("Updated", lambda r: r.job.updated),
        Column("Activity", lambda r: r.job.activity or "", tooltip=lambda r: r.job.activity or ""),
    ]


SITE = "Site"


def site_column() -> Column:
    """A hub's jobs: the site that runs each, or "waiting at the hub" (empty from a Manager); the
    tooltip says why that site, or what the job waits for at the hub."""
    def why(r: JobRow) -> str:
        hub = r.job.hub
        return (hub.why or hub.route_reason or "") if hub is not None else ""

    return Column(SITE, lambda r: site_words(r.job.site), tooltip=why)


#: The Site cell of a hub's job that no site has taken yet (its site is "").
AT_HUB = "waiting at the hub"


def site_words(site: str | None) -> str:
    """A job's site as its cell shows it: none from a Manager, `AT_HUB` while it waits at a hub."""
    return "" if site is None else site or AT_HUB


def _task_fraction(r: TaskRow) -> float:
    return steps_fraction(r.task.steps_completed, r.task.steps_total, r.task.status)


#: Columns of `TaskRow`s, each a function of the row's `TaskSummary`.
TASK_COLUMNS = [
    Column("#", lambda r: str(r.task.index_in_job) if r.listed else "",
           sort=lambda r: r.task.index_in_job if r.listed else 0, align_right=True),
    Column("Status", lambda r: str(r.task.status)),
    Column("Name", lambda r: r.task.name),
    Column("Progress", lambda r: f"{_task_fraction(r) * 100:.0f}%", sort=_task_fraction, progress=_task_fraction),
    Column("Worker", lambda r: r.task.worker.name if r.task.worker is not None else ""),
    Column("Activity", lambda r: r.task.activity or "", tooltip=lambda r: r.task.activity or ""),
    _time_column("Updated", lambda r: r.task.updated),
]


def last_seen(row: WorkerRow) -> str:
    if row.worker.status in CONNECTED:
        return "connected"
    return ago(row.worker.last_seen)


def worker_columns(job_name: JobName | None = None, tag_name: TagName | None = None) -> list[Column]:
    """Columns of `WorkerRow`s, each a function of the row's worker models."""
    def task_text(r: WorkerRow) -> str:
        task = r.current_task
        if task is None:
            return ""
        job = job_name(r.manager, task.job_id) if job_name else ""
        done = steps_fraction(task.steps_completed, task.steps_total, task.status)
        pct = f" · {done * 100:.0f}%" if task.steps_total else ""
        return f"{job} › {task.name}{pct}" if job else f"{task.name}{pct}"

    def tags(r: WorkerRow) -> str:
        shown = r.details.tags if r.details is not None else []
        return ", ".join((tag_name(r.manager, t.id or "") if tag_name else "") or t.name for t in shown)

    def status(r: WorkerRow) -> str:
        change = r.worker.status_change
        wanted = f" → {change.status}{' after its task' if change.is_lazy else ''}" if change else ""
        return str(r.worker.status) + wanted

    return [
        Column("Name", lambda r: r.worker.name),
        Column("Status", status),
        Column("Task", task_text),
        *vitals_columns(),
        Column("Platform", lambda r: r.details.platform if r.details is not None else ""),
        Column("Version", lambda r: r.worker.version),
        Column("Tags", tags),
        Column("Last seen", last_seen, sort=lambda r: _sort_time(r.worker.last_seen),
               tooltip=lambda r: local_time(r.worker.last_seen) or "never"),
        Column("Sleep schedule", _schedule),
    ]


def vitals_columns() -> list[Column]:
    """Frame, CPU, Memory, GPU and Blender, from the worker's current vitals (`vitals_words`)."""
    def figure(text: Callable[[Any], str], tip: Callable[[Any], str]) -> tuple[Callable, Callable]:
        def tooltip(r: WorkerRow) -> str:
            v = vw.current(r)
            return tip(v) if v is not None else vw.why_none(r)
        return (lambda r: text(vw.current(r))), tooltip

    def frame(r: WorkerRow) -> str:
        # Not once its task ended: a report sent just before the render ended still names its frame
        # until the worker's next one. (The list's summaries carry no task; its details add it.)
        return vw.frame_text(vw.current(r)) if r.details is None or r.current_task is not None else ""

    def frame_tip(r: WorkerRow) -> str:
        v = vw.current(r)
        if v is None:
            return vw.why_none(r)
        return "the frame Blender renders now, and its samples" if frame(r) else "not rendering"

    def number(key: str) -> Callable[[WorkerRow], float]:
        return lambda r: vw.sort_number(getattr(vw.current(r), key, None))

    cpu, cpu_tip = figure(vw.cpu_text, vw.cpu_tip)
    memory, memory_tip = figure(vw.memory_text, vw.memory_tip)
    gpu, gpu_tip = figure(vw.gpu_text, vw.gpu_tip)
    blender, blender_tip = figure(vw.blender_text, lambda v: "the Blender version the worker runs")
    return [
        Column("Frame", frame, tooltip=frame_tip, sort=number("frame")),
        Column("CPU", cpu, tooltip=cpu_tip, sort=number("cpu_percent"), align_right=True),
        Column("Memory", memory, tooltip=memory_tip, sort=number("memory_used"), align_right=True),
        Column("GPU", gpu, tooltip=gpu_tip),
        Column("Blender", blender, tooltip=blender_tip),
    ]


def _schedule(row: WorkerRow) -> str:
    sched = row.sleep_schedule
    if sched is None or not sched.is_active:
        return ""
    days = sched.days_of_week or "every day"
    return f"{days} {sched.start_time}-{sched.end_time}"


#: Column 0 of the job and worker tables: the label of the row's Manager.
MANAGER_COLUMN = Column("Manager", lambda r: r.manager)

#: The job table's rows: `JobRow`s, changed by `JobDelta`s (the Manager's job events).
JOB_ROWS: RowKind[JobRow, JobDelta] = RowKind(
    key=lambda r: r.key, delta_key=lambda d: d.key, new=lambda d: JobRow.from_update(d.manager, d.update),
    apply=lambda r, d: r.apply(d.update), adopt=lambda r: r)


def jobs_model(parent=None, pace: Callable[[JobRow], Any] | None = None,
               tag_name: TagName | None = None) -> KeyedTableModel[JobRow, JobDelta]:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *job_columns(pace, tag_name)], JOB_ROWS, parent)


#: The task table's rows: `TaskRow`s, changed by the Manager's `TaskUpdate` events.
TASK_ROWS: RowKind[TaskRow, TaskUpdate] = RowKind(
    key=lambda r: r.key, delta_key=lambda d: d.id, new=TaskRow.from_update, apply=lambda r, d: r.apply(d),
    adopt=lambda r: r)


def tasks_model(parent=None) -> KeyedTableModel[TaskRow, TaskUpdate]:
    return KeyedTableModel(TASK_COLUMNS, TASK_ROWS, parent)


#: The worker list's rows: `WorkerRow`s, changed by `WorkerDelta`s (the Manager's worker events);
#: vitals, details and tasks come by `KeyedTableModel.edit` with the row's own methods.
WORKER_ROWS: RowKind[WorkerRow, WorkerDelta] = RowKind(
    key=lambda r: r.key, delta_key=lambda d: d.key, new=lambda d: WorkerRow.from_update(d.manager, d.update),
    apply=lambda r, d: r.apply(d.update), adopt=lambda r: r)


def workers_model(parent=None, job_name: JobName | None = None,
                  tag_name: TagName | None = None) -> KeyedTableModel[WorkerRow, WorkerDelta]:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *worker_columns(job_name, tag_name)], WORKER_ROWS, parent)


def column_of(model: KeyedTableModel, title: str) -> int:
    """The index of the column titled `title` (views and tests address columns by title)."""
    for n, col in enumerate(model.columns):
        if col.title == title:
            return n
    raise KeyError(title)
