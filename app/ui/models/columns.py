"""Column sets of the dashboard's tables, and the small formatting helpers they share."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from app.ui.models.keyed_table import Column, KeyedTableModel, Row

MANAGER = "_manager"  # every row carries the label of the Manager it came from


def row_key(row: Row) -> str:
    return f"{row.get(MANAGER, '')}/{row['id']}"


def fraction(row: Row) -> float:
    total = row.get("steps_total") or 0
    done = row.get("steps_completed") or 0
    if total <= 0:
        return 1.0 if row.get("status") == "completed" else 0.0
    return max(0.0, min(1.0, done / total))


def percent(row: Row) -> str:
    return f"{fraction(row) * 100:.0f}%"


def parse_time(text: Any) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def local_time(text: Any) -> str:
    when = parse_time(text)
    if when is None:
        return ""
    return when.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def ago(text: Any, now: datetime | None = None) -> str:
    when = parse_time(text)
    if when is None:
        return "never"
    seconds = ((now or datetime.now(timezone.utc)) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def _submitter(row: Row) -> str:
    meta = row.get("metadata") or {}
    return str(meta.get("user.name") or meta.get("user") or meta.get("project") or "")


def _tag_name(row: Row) -> str:
    return str(row.get("_tag_name") or row.get("worker_tag") or "")


def _worker_task(row: Row) -> str:
    task = row.get("task") or {}
    if not task.get("name"):
        return ""
    total = task.get("steps_total") or 0
    return f"{task['name']} ({fraction(task) * 100:.0f}%)" if total else str(task["name"])


def _tags(row: Row) -> str:
    return ", ".join(t.get("name", "") for t in row.get("tags") or [])


def _schedule(row: Row) -> str:
    sched = row.get("_sleep_schedule") or {}
    if not sched.get("is_active"):
        return ""
    days = sched.get("days_of_week") or "every day"
    return f"{days} {sched.get('start_time', '')}-{sched.get('end_time', '')}"


MANAGER_COLUMN = Column("Manager", lambda r: str(r.get(MANAGER, "")))

JOB_COLUMNS = [
    Column("Status", lambda r: str(r.get("status", ""))),
    Column("Progress", percent, sort=fraction, progress=fraction),
    Column("Name", lambda r: str(r.get("name", "")), tooltip=lambda r: str(r.get("id", ""))),
    Column("Type", lambda r: str(r.get("type", ""))),
    Column("Priority", lambda r: str(r.get("priority", "")), sort=lambda r: int(r.get("priority") or 0),
           align_right=True),
    Column("Submitter", _submitter),
    Column("Tag", _tag_name),
    Column("Created", lambda r: local_time(r.get("created")), sort=lambda r: str(r.get("created", ""))),
    Column("Updated", lambda r: local_time(r.get("updated")), sort=lambda r: str(r.get("updated", ""))),
]

TASK_COLUMNS = [
    Column("#", lambda r: str(r.get("index_in_job", "")), sort=lambda r: int(r.get("index_in_job") or 0),
           align_right=True),
    Column("Status", lambda r: str(r.get("status", ""))),
    Column("Name", lambda r: str(r.get("name", ""))),
    Column("Progress", percent, sort=fraction, progress=fraction),
    Column("Worker", lambda r: str((r.get("worker") or {}).get("name", ""))),
    Column("Activity", lambda r: str(r.get("activity", "")), tooltip=lambda r: str(r.get("activity", ""))),
    Column("Updated", lambda r: local_time(r.get("updated")), sort=lambda r: str(r.get("updated", ""))),
]

WORKER_COLUMNS = [
    Column("Name", lambda r: str(r.get("name", ""))),
    Column("Status", lambda r: str(r.get("status", ""))
           + (f" → {r['status_change']['status']}" if r.get("status_change") else "")),
    Column("Task", _worker_task),
    Column("Platform", lambda r: str(r.get("platform", ""))),
    Column("Version", lambda r: str(r.get("version", ""))),
    Column("Tags", _tags),
    Column("Last seen", lambda r: ago(r.get("last_seen")), sort=lambda r: str(r.get("last_seen", ""))),
    Column("Sleep schedule", _schedule),
]


def jobs_model(parent=None) -> KeyedTableModel:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *JOB_COLUMNS], row_key, parent)


def tasks_model(parent=None) -> KeyedTableModel:
    return KeyedTableModel(TASK_COLUMNS, lambda r: str(r["id"]), parent)


def workers_model(parent=None) -> KeyedTableModel:
    """Column 0 is the Manager; the view hides it while only one Manager is watched."""
    return KeyedTableModel([MANAGER_COLUMN, *WORKER_COLUMNS], row_key, parent)
