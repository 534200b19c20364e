"""The followed job's ETA in words, as the Manager gives it (the figure the dashboard, the status page
and `farm status` show): "ETA: 12 min (9 min – 16 min)", counted down to the times it gave.

Pure Python (no bpy), so it is tested without Blender.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_SOURCES = {"job": "this job's finished tasks", "file": "earlier jobs of this .blend file",
            "type": "earlier jobs of this type"}


def duration(seconds: float) -> str:
    """"45 s", "12 min", "4 min 05 s", "1 h 05 min", "2 d 3 h" (as the dashboard says them)."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        rest = f" {s % 60:02d} s" if s < 600 and s % 60 else ""
        return f"{s // 60} min{rest}"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60:02d} min"
    return f"{s // 86400} d {(s % 86400) // 3600} h"


def _time(text: Any) -> datetime | None:
    try:
        when = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def eta_line(job: Any, now: datetime | None = None) -> str:
    """The panel's ETA line of a job (an `_api.jobs.Job`), or '' while the Manager gives none."""
    eta = getattr(job, "eta", None)
    if eta is None or str(job.status) not in ("queued", "active"):
        return ""
    at, low, high = _time(eta.at), _time(eta.low), _time(eta.high)
    if at is None or low is None or high is None:
        return ""
    moment = now or datetime.now(UTC)

    def left(when: datetime) -> str:
        return duration(max(0.0, (when - moment).total_seconds()))
    return f"ETA: {left(at)} ({left(low)} – {left(high)}), from {_SOURCES.get(eta.source, 'the farm')}"
