"""A worker's vitals as the worker list shows them: CPU, memory, GPU, Blender, the frame it renders.

Pure functions of a worker's row (its `WorkerVitals` as the Manager sent them, its status) and the clock
(`formats.now()`, so a test can hold it still). Vitals are shown only while they are current: not
for an offline worker, nor once the last report is older than the Manager keeps them
(`STALE_AFTER_S`, as `app.manager.workers.worker_vitals`); a cell without a figure says "—" and its tooltip
says why, never 0. The browser status page says the same things (`app/manager/web/page/vitals.js`).
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import TYPE_CHECKING, Any

from app.api.workers import WorkerVitals
from app.ui.models.formats import now, parse_time

if TYPE_CHECKING:
    from app.ui.models.worker_row import WorkerRow

NONE = "—"
STALE_AFTER_S = 90.0
_GIB = 1024 ** 3

Vitals = WorkerVitals


def current(row: WorkerRow, at: datetime | None = None) -> Vitals | None:
    """The worker's vitals while they say how the machine is now, else None."""
    vitals = row.worker.vitals
    if vitals is None or row.worker.status == "offline":
        return None
    updated = parse_time(vitals.updated)
    if updated is not None and ((at or now()) - updated).total_seconds() > STALE_AFTER_S:
        return None
    return vitals


def why_none(row: WorkerRow, at: datetime | None = None) -> str:
    """Why a worker's vitals are not shown (the tooltip of its "—" cells)."""
    if row.worker.vitals is None:
        return "this worker sends no vitals (a stock Flamenco worker, or one that has not reported yet)"
    if row.worker.status == "offline":
        return "the worker is offline: its last report says nothing about the machine now"
    return "the worker's last report is too old to show as live"


def _has(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _pct(value: float) -> str:
    return f"{value:.0f}%"


def gib(value: float) -> str:
    """Bytes as GiB for a cell: "9.2", "32" (no ".0"), "128" (no decimals from 100 GiB on)."""
    g = value / _GIB
    text = f"{g:.0f}" if g >= 100 else f"{g:.1f}"
    return text[:-2] if text.endswith(".0") else text


def cpu_text(v: Vitals | None) -> str:
    """"37% of 16": the whole machine's use, of its logical CPUs."""
    if not v or v.cpu_percent is None or not _has(v.cpu_percent):
        return NONE
    cores = v.cpu_count
    return f"{_pct(v.cpu_percent)} of {cores}" if _has(cores) else _pct(v.cpu_percent)


def cpu_tip(v: Vitals | None) -> str:
    if not v or v.cpu_percent is None or not _has(v.cpu_percent):
        return ""
    cores = f" of {v.cpu_count} logical CPUs" if _has(v.cpu_count) else ""
    tip = f"the machine uses {_pct(v.cpu_percent)}{cores}"
    if v.render_cpu_percent is not None and _has(v.render_cpu_percent):
        tip += f"; the worker and its renders {_pct(v.render_cpu_percent)}"
    return tip


def memory_text(v: Vitals | None) -> str:
    """"9.2 / 32 GiB" used of all."""
    if not v or v.memory_used is None or v.memory_total is None or not (_has(v.memory_used)
                                                                       and _has(v.memory_total)):
        return NONE
    return f"{gib(v.memory_used)} / {gib(v.memory_total)} GiB"


def memory_tip(v: Vitals | None) -> str:
    if not v or v.memory_used is None or v.memory_total is None or not (_has(v.memory_used)
                                                                       and _has(v.memory_total)):
        return ""
    tip = f"the machine uses {gib(v.memory_used)} GiB of {gib(v.memory_total)} GiB"
    if v.render_memory is not None and _has(v.render_memory):
        tip += f"; the worker and its renders {gib(v.render_memory)} GiB"
    return tip


def gpu_text(v: Vitals | None) -> str:
    """The first GPU's name and use ("NVIDIA RTX A4000 · 97%"), "+1" for each other GPU."""
    gpus = (v.gpus if v else None) or []
    if not gpus:
        return NONE
    first = gpus[0]
    use = f" · {_pct(first.percent)}" if first.percent is not None and _has(first.percent) else ""
    more = f" +{len(gpus) - 1}" if len(gpus) > 1 else ""
    return f"{first.name}{use}{more}"


def gpu_tip(v: Vitals | None) -> str:
    """Every GPU, one a line, with its use and memory where the worker could read them."""
    if not v:
        return ""
    gpus = v.gpus or []
    if not gpus:
        return ("the worker found no GPU it can read (nvidia-smi, or the Linux kernel's DRM devices; "
                "not read on macOS and Windows)")
    lines = []
    for g in gpus:
        line = g.name
        if g.percent is not None and _has(g.percent):
            line += f": {_pct(g.percent)} busy"
        if g.memory_used is not None and g.memory_total is not None and _has(g.memory_used) \
                and _has(g.memory_total):
            line += f", {gib(g.memory_used)} / {gib(g.memory_total)} GiB"
        if not _has(g.percent):
            line += " (its use cannot be read)"
        lines.append(line)
    return "\n".join(lines)


def blender_text(v: Vitals | None) -> str:
    return (v.blender_version or NONE) if v else NONE


def frame_text(v: Vitals | None) -> str:
    """"frame 12 · 340/1500 samples" while Blender renders; empty otherwise."""
    if not v or not _has(v.frame):
        return ""
    samples = ""
    if _has(v.sample) and v.samples_total is not None and _has(v.samples_total) and v.samples_total > 0:
        samples = f" · {v.sample}/{v.samples_total} samples"
    return f"frame {v.frame}{samples}"


def sort_number(value: Any) -> float:
    """A sort key that puts workers without a figure first (ascending) and together."""
    return float(value) if _has(value) else -1.0
