"""Saved views of the job table: a name for a search text, a set of statuses and an age limit.

Kept in QSettings as JSON (UI state). A few built-in views cover the common questions.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from PySide6.QtCore import QSettings

KEY = "dashboard/saved_views"


@dataclass
class JobView:
    name: str
    text: str = ""
    statuses: list[str] = field(default_factory=list)
    hide_finished_days: float | None = None


BUILT_IN = [
    JobView("All jobs"),
    JobView("Running and waiting", statuses=["active", "queued", "paused"]),
    JobView("Failed", statuses=["failed"]),
    JobView("Recent (hide finished after 7 days)", hide_finished_days=7),
]


def load_views() -> list[JobView]:
    raw = QSettings().value(KEY, "[]")
    try:
        items = json.loads(raw if isinstance(raw, str) else "[]")
        return [JobView(**item) for item in items if isinstance(item, dict) and item.get("name")]
    except (TypeError, ValueError):
        return []


def save_views(views: list[JobView]) -> None:
    QSettings().setValue(KEY, json.dumps([asdict(v) for v in views]))


def all_views() -> list[JobView]:
    return BUILT_IN + load_views()


def remember_view(view: JobView) -> None:
    views = [v for v in load_views() if v.name != view.name]
    save_views(views + [view])
