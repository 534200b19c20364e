"""Words and numbers as the dashboard's tables show them: times, durations, frames, submitters, ETAs.

Pure functions of their arguments, the clock included (`now()` is the one place that reads it, so
a test can hold it still while it compares cells). The browser status page says the same things
the same way (`app/manager/web/page/format.js`, `progress_words.js`).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.api.jobs import Job

FINISHED = frozenset({"completed", "canceled", "failed"})
_held: datetime | None = None


def now() -> datetime:
    """The time the tables are drawn at (UTC)."""
    return _held or datetime.now(UTC)


@contextlib.contextmanager
def held_clock(at: datetime) -> Iterator[None]:
    """Draw every cell at `at` until the block ends (a test comparing cells with the truth)."""
    global _held
    before, _held = _held, at
    try:
        yield
    finally:
        _held = before


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


def ago(text: Any, at: datetime | None = None) -> str:
    when = parse_time(text)
    if when is None:
        return "never"
    seconds = ((at or now()) - when).total_seconds()
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    if seconds < 86400:
        return f"{int(seconds // 3600)} h ago"
    return f"{int(seconds // 86400)} d ago"


def duration(seconds: float) -> str:
    """"45 s", "12 min", "4 min 05 s", "1 h 05 min", "2 d 3 h"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        rest = f" {s % 60:02d} s" if s < 600 and s % 60 else ""
        return f"{s // 60} min{rest}"
    if s < 86400:
        return f"{s // 3600} h {(s % 3600) // 60:02d} min"
    return f"{s // 86400} d {(s % 86400) // 3600} h"


def steps_fraction(done: int, total: int, status: str) -> float:
    if total <= 0:
        return 1.0 if status == "completed" else 0.0
    return max(0.0, min(1.0, done / total))


def job_fraction(job: Job) -> float:
    return steps_fraction(job.steps_completed, job.steps_total, job.status)


def job_percent(job: Job) -> str:
    return f"{job_fraction(job) * 100:.0f}%"


_FRAME_PART = re.compile(r"^\s*(-?\d+)\s*(?:(?:-|\.\.)\s*(-?\d+)\s*)?$")


def count_frames(spec: Any) -> int | None:
    """How many frames a frame list such as "1-100,150,200-210" names; None when it is not one."""
    if not isinstance(spec, str) or not spec.strip():
        return None
    total = 0
    for part in spec.split(","):
        match = _FRAME_PART.match(part)
        if match is None:
            return None
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            return None
        total += last - first + 1
    return total


def frames(job: Job) -> tuple[int, int, str]:
    """(done, total, unit) of a job: its frames where its `frames` setting names them (a render
    task's steps are its frames; a preview video adds one last step), else its steps."""
    done, steps = job.steps_completed, job.steps_total
    total = count_frames((job.settings or {}).get("frames"))
    if total is not None and steps >= total:
        return min(done, total), total, "frames"
    return done, steps, "steps"


def frames_text(job: Job) -> str:
    done, total, unit = frames(job)
    return f"{done} / {total}" if unit == "frames" else f"{done} / {total} steps"


def submitter(job: Job) -> str:
    """"alice@studio-pc" from the job's metadata (`user.name`, and `user.host` where it was sent)."""
    meta = job.metadata or {}
    user = str(meta.get("user.name") or meta.get("user") or "")
    host = str(meta.get("user.host") or meta.get("host") or meta.get("hostname") or "")
    if user and host:
        return f"{user}@{host}"
    return user or host


def elapsed(job: Job, at: datetime | None = None) -> float | None:
    """Seconds a job has run: from submission to now, or to its last change once it finished."""
    start = parse_time(job.created)
    if start is None:
        return None
    end = parse_time(job.updated) if job.status in FINISHED else None
    return max(0.0, ((end or at or now()) - start).total_seconds())


def elapsed_text(job: Job) -> str:
    seconds = elapsed(job)
    return "" if seconds is None else duration(seconds)


class PaceLike(Protocol):
    @property
    def per_s(self) -> float: ...
    @property
    def fast(self) -> float: ...
    @property
    def slow(self) -> float: ...
    @property
    def basis(self) -> int: ...
    @property
    def source(self) -> str: ...


def remaining_steps(job: Job) -> int:
    return max(0, job.steps_total - job.steps_completed)


def eta_words(job: Job, pace: PaceLike | None) -> tuple[str, str]:
    """(text, tooltip) of a job's ETA: "12 min (9 min – 16 min)", or why there is none."""
    status = job.status
    if status == "completed":
        return "done", "the job is completed"
    if status in FINISHED:
        return "—", f"the job is {status}"
    if status == "paused":
        return "paused", "no ETA while the job is paused"
    remaining = remaining_steps(job)
    if remaining == 0:
        return "—", "nothing left to render"
    if pace is None:
        return "—", "an ETA comes after two finished tasks"
    seconds = remaining / pace.per_s
    low, high = remaining / pace.fast, remaining / pace.slow
    basis = (f"{pace.basis} finished task{'s' if pace.basis != 1 else ''} of this job" if pace.source == "job"
             else f"the farm's last {pace.basis} completed job{'s' if pace.basis != 1 else ''} of this type")
    return (f"{duration(seconds)} ({duration(low)} – {duration(high)})",
            f"about {duration(seconds)}, between {duration(low)} and {duration(high)}, from {basis}")
