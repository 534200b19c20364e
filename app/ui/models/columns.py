"""Column sets of the dashboard's tables.

Every cell is a function of its row (plus, where a row alone cannot say, a lookup the dashboard
passes in: a tag's current name, a job's pace, a job's name for a worker's task), so what a table
shows is exactly what the Manager said last. Statuses are shown in the wire's words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from app.ui.manager_eta import eta_sort_key, job_eta_words
from app.ui.models import vitals_words as vw
from app.ui.models.formats import (
    ago,
    elapsed,
    elapsed_text,
    fraction,
    frames,
    frames_text,
    local_time,
    now,
    parse_time,
    percent,
    submitter,
)
from app.ui.models.keyed_table import Column, KeyedTableModel, Row

__all__ = ["MANAGER", "row_key", "fraction", "percent", "parse_time", "local_time", "ago", "short_time",
           "jobs_model", "tasks_model", "workers_model", "column_of", "CONNECTED"]

MANAGER = "_manager"  # every row carries the label of the Manager it came from

#: Worker statuses in which the Manager hears from the worker all the time (it would time out to
#: `error` after `worker_timeout` otherwise): for these "Last seen" is now.
CONNECTED = frozenset({"starting", "awake", "asleep", "testing", "restart"})

TagName = Callable[[str, str], str]          # (Manager label, tag id) → its name now
JobName = Callable[[str, str], str]          # (Manager label, job id) → its name


def row_key(row: Row) -> str:
    return f"{row.get(MANAGER, '')}/{row['id']}"


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


def short_id(row: Row) -> str:
    """The first 8 characters of the job's id: enough to tell two jobs of the same name apart."""
    return str(row.get("id", ""))[:8]


def _activity(row: Row) -> str:
    return str(row.get("activity") or "")


def _time_column(title: str, key: str) -> Column:
    return Column(title, lambda r: short_time(r.get(key)), sort=lambda r: _sort_time(r.get(key)),
                  tooltip=lambda r: local_time(r.get(key)))


def _sort_time(text: Any) -> float:
    when = parse_time(text)
    return when.timestamp() if when is not None else 0.0


def job_columns(pace: Callable[[Row], Any] | None = None, tag_name: TagName | None = None) -> list[Column]:
    """`pace(row)`: the job's ETA as its Manager gives it (`app.ui.manager_eta`), else the dashboard's own
    `app.ui.job_pace.Pace`, or None; `tag_name`: a tag id's current name."""
    def tag(r: Row) -> str:
        tag_id = str(r.get("worker_tag") or "")
        return (tag_name(str(r.get(MANAGER, "")), tag_id) if tag_name else "") or tag_id if tag_id else ""

    def eta(r: Row) -> tuple[str, str]:
        return job_eta_words(r, pace(r) if pace is not None else None)

    return [
        Column("Status", lambda r: str(r.get("status", ""))),
        Column("Progress", percent, sort=fraction, progress=fraction),
        Column("Name", lambda r: str(r.get("name", "")), tooltip=lambda r: str(r.get("id", ""))),
        Column("ID", short_id, tooltip=lambda r: str(r.get("id", ""))),
        site_column(),
        Column("Frames", frames_text, sort=lambda r: frames(r)[0], align_right=True,
               tooltip=lambda r: "{} of {} {} done".format(*frames(r))),
        Column("Elapsed", elapsed_text, sort=lambda r: elapsed(r) or 0.0, align_right=True),
        Column("ETA", lambda r: eta(r)[0], tooltip=lambda r: eta(r)[1],
               sort=lambda r: eta_sort_key(r, pace(r) if pace is not None else None)),
        Column("Submitter", submitter),
        Column("Type", lambda r: str(r.get("type", ""))),
        Column("Prio", lambda r: str(r.get("priority", "")), sort=lambda r: int(r.get("priority") or 0),
               align_right=True),
        Column("Tag", tag),
        _time_column("Created", "created"),
        _time_column("Updated", "updated"),
        Column("Activity", _activity, tooltip=_activity),
    ]


SITE = "Site"


def site_column() -> Column:
    """A hub's jobs: the site that runs each (empty from a Manager); the tooltip says why that site,
    or what the job waits for at the hub."""
    def why(r: Row) -> str:
        hub = r.get("hub") or {}
        return str(hub.get("why") or hub.get("route_reason") or "")

    return Column(SITE, lambda r: str(r.get("site") or ""), tooltip=why)


TASK_COLUMNS = [
    Column("#", lambda r: str(r.get("index_in_job", "")), sort=lambda r: int(r.get("index_in_job") or 0),
           align_right=True),
    Column("Status", lambda r: str(r.get("status", ""))),
    Column("Name", lambda r: str(r.get("name", ""))),
    Column("Progress", percent, sort=fraction, progress=fraction),
    Column("Worker", lambda r: str((r.get("worker") or {}).get("name", ""))),
    Column("Activity", _activity, tooltip=_activity),
    _time_column("Updated", "updated"),
]


def current_task(row: Row) -> dict[str, Any] | None:
    """The task a worker runs now: its `task` while that task is active (an idle worker has none;
    the Manager's `task` is its current or last one)."""
    task = row.get("task") or None
    return task if task and task.get("status") == "active" else None


def last_seen(row: Row) -> str:
    if row.get("status") in CONNECTED:
        return "connected"
    return ago(row.get("last_seen"))


def worker_columns(job_name: JobName | None = None, tag_name: TagName | None = None) -> list[Column]:
    def task_text(r: Row) -> str:
        task = current_task(r)
        if task is None:
            return ""
        job = job_name(str(r.get(MANAGER, "")), str(task.get("job_id", ""))) if job_name else ""
        pct = f" · {fraction(task) * 100:.0f}%" if task.get("steps_total") else ""
        return f"{job} › {task.get('name', '')}{pct}" if job else f"{task.get('name', '')}{pct}"

    def tags(r: Row) -> str:
        label = str(r.get(MANAGER, ""))
        return ", ".join((tag_name(label, str(t.get("id", ""))) if tag_name else "") or str(t.get("name", ""))
                         for t in r.get("tags") or [])

    def status(r: Row) -> str:
        change = r.get("status_change") or {}
        wanted = f" → {change['status']}{' after its task' if change.get('is_lazy') else ''}" if change.get(
            "status") else ""
        return str(r.get("status", "")) + wanted

    return [
        Column("Name", lambda r: str(r.get("name", ""))),
        Column("Status", status),
        Column("Task", task_text),
        *vitals_columns(),
        Column("Platform", lambda r: str(r.get("platform", ""))),
        Column("Version", lambda r: str(r.get("version", ""))),
        Column("Tags", tags),
        Column("Last seen", last_seen, sort=lambda r: _sort_time(r.get("last_seen")),
               tooltip=lambda r: local_time(r.get("last_seen")) or "never"),
        Column("Sleep schedule", _schedule),
    ]


def vitals_columns() -> list[Column]:
    """Frame, CPU, Memory, GPU and Blender, from the worker's current vitals (`vitals_words`)."""
    def figure(text: Callable[[Any], str], tip: Callable[[Any], str]) -> tuple[Callable, Callable]:
        def tooltip(r: Row) -> str:
            v = vw.current(r)
            return tip(v) if v is not None else vw.why_none(r)
        return (lambda r: text(vw.current(r))), tooltip

    def frame(r: Row) -> str:
        # Not once its task ended: a report sent just before the render ended still names its frame
        # until the worker's next one. (The list's summaries carry no task; its details add it.)
        return vw.frame_text(vw.current(r)) if "task" not in r or current_task(r) is not None else ""

    def frame_tip(r: Row) -> str:
        v = vw.current(r)
        if v is None:
            return vw.why_none(r)
        return "the frame Blender renders now, and its samples" if frame(r) else "not rendering"

    def number(key: str) -> Callable[[Row], float]:
        return lambda r: vw.sort_number((vw.current(r) or {}).get(key))

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


def _schedule(row: Row) -> str:
    sched = row.get("_sleep_schedule") or {}
    if not sched.get("is_active"):
        return ""
    days = sched.get("days_of_week") or "every day"
    return f"{days} {sched.get('start_time', '')}-{sched.get('end_time', '')}"


MANAGER_COLUMN = Column("Manager", lambda r: str(r.get(MANAGER, "")))


def jobs_model(parent=None, pace: Callable[[Row], Any] | None = None,
               tag_name: TagName | None = None) -> KeyedTableModel:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *job_columns(pace, tag_name)], row_key, parent)


def tasks_model(parent=None) -> KeyedTableModel:
    return KeyedTableModel(TASK_COLUMNS, lambda r: str(r["id"]), parent)


def workers_model(parent=None, job_name: JobName | None = None,
                  tag_name: TagName | None = None) -> KeyedTableModel:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *worker_columns(job_name, tag_name)], row_key, parent)


def column_of(model: KeyedTableModel, title: str) -> int:
    """The index of the column titled `title` (views and tests address columns by title)."""
    for n, col in enumerate(model.columns):
        if col.title == title:
            return n
    raise KeyError(title)
