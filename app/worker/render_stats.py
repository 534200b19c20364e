"""What a task's renders cost: Blender's own render time and its peak memory, for the Manager's statistics.

Blender ends each frame with ` Time: 00:19.28 (Saving: 00:00.14)` and prints its memory on every
progress line (`Fra:7 Mem:9.96M (Peak 10.83M) | ...`; Blender 5: `Fra: 17 | Mem: 1699M | ...`).
`RenderStats` adds up the frames' times and keeps the highest memory figure; the task runner sends
both with the task's final status (`render_time_s`, `peak_memory_mb`), and nothing when no render
line was seen (a task of other commands, or a Blender whose output says neither).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.api.limits import PEAK_MEMORY_MAX, RENDER_TIME_MAX

# "00:19.28" or "1:02:03.45" (hours appear once a frame takes an hour).
_CLOCK = re.compile(r"^Time:\s*(?:(\d+):)?(\d+):(\d+(?:\.\d+)?)")
_MEMORY = re.compile(r"\b(?:Mem|Peak)[: ]\s*(\d+(?:\.\d+)?)\s*([KMG])\b")
_UNIT_MB = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}


def frame_seconds(text: str) -> float | None:
    """The seconds of a frame's closing `Time:` line (without Blender's log prefix), else None."""
    match = _CLOCK.match(text)
    if match is None:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours or 0) * 3600 + int(minutes) * 60 + float(seconds)


def memory_mb(text: str) -> float | None:
    """The highest `Mem:`/`Peak` figure of a progress line, in MiB, else None."""
    figures = [float(value) * _UNIT_MB[unit] for value, unit in _MEMORY.findall(text)]
    return max(figures) if figures else None


@dataclass
class RenderStats:
    """One task's render time (its frames' `Time:` lines added up) and peak memory, as far as seen."""

    render_time_s: float | None = None
    peak_memory_mb: float | None = None

    def frame_took(self, seconds: float) -> None:
        self.render_time_s = min(RENDER_TIME_MAX, (self.render_time_s or 0.0) + seconds)

    def memory_seen(self, mb: float) -> None:
        if self.peak_memory_mb is None or mb > self.peak_memory_mb:
            self.peak_memory_mb = min(PEAK_MEMORY_MAX, mb)

    def fields(self) -> dict[str, float]:
        """The task update's fields for what was seen (rounded: a hundredth is Blender's own resolution)."""
        out = {}
        if self.render_time_s is not None:
            out["render_time_s"] = round(self.render_time_s, 2)
        if self.peak_memory_mb is not None:
            out["peak_memory_mb"] = round(self.peak_memory_mb, 2)
        return out
