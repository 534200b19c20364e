"""'My own programs are busy': the CPU and GPU load of everything but the worker, and the hold rule.

`LoadSampler.sample()` compares the machine's busy CPU time with the CPU time of the worker's own
process tree (this process and its children: Blender, ffmpeg) since the previous sample, so the
load of the artist's programs costs one `cpu_times()` call and a walk of our own small tree, never
a scan of every process. The GPU is read with `nvidia-smi` where it is installed ("no GPU reading"
otherwise); nvidia-smi cannot split utilisation by process, so while the worker's own tree has
children (a render running) the GPU is not counted against the artist. Percentages are of the
whole machine (all cores), as a task manager shows them.

`LoadHold` is pure: fed readings, it says why the worker should stay asleep ('' when it need not),
holding at the first reading above a limit and letting go after `release_after` readings below.
No Qt here; the desktop app samples at a low rate off the UI thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

_log = logging.getLogger(__name__)

NO_GPU = "no GPU reading (nvidia-smi is not installed)"


@dataclass(frozen=True)
class LoadReading:
    others_cpu: float | None      # % of the machine used by programs other than the worker's tree
    own_cpu: float | None         # % of the machine used by the worker's own tree
    gpu: float | None = None      # GPU utilisation %, None when not read
    gpu_note: str = ""            # why there is no GPU number

    def describe(self) -> str:
        cpu = "CPU not measured yet" if self.others_cpu is None else f"CPU {self.others_cpu:.0f}%"
        gpu = f"GPU {self.gpu:.0f}%" if self.gpu is not None else (self.gpu_note or "GPU not read")
        return f"other programs: {cpu}, {gpu}"


def read_nvidia_gpu(run: Callable[[list[str]], str] | None = None) -> tuple[float | None, str]:
    """The busiest NVIDIA GPU's utilisation %, or (None, why)."""
    if run is None:
        exe = shutil.which("nvidia-smi")
        if exe is None:
            return None, NO_GPU
        run = _run_nvidia_smi
    try:
        out = run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"])
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"no GPU reading (nvidia-smi failed: {exc})"
    return parse_nvidia_smi(out)


def parse_nvidia_smi(out: str) -> tuple[float | None, str]:
    values = []
    for line in out.splitlines():
        try:
            values.append(float(line.strip()))
        except ValueError:
            continue
    if not values:
        return None, "no GPU reading (nvidia-smi gave no utilisation)"
    return max(values), ""


def _run_nvidia_smi(args: list[str]) -> str:
    return subprocess.run(args, capture_output=True, text=True, timeout=5, check=True).stdout


def _busy_and_total(t: Any) -> tuple[float, float]:  # psutil's cpu times; fields differ per OS
    total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)  # guest is inside user
    return total - t.idle - getattr(t, "iowait", 0.0), total


class LoadSampler:
    """Samples the load of other programs. `root` is the worker's process (default: this one)."""

    def __init__(self, root: int | None = None, gpu: bool = True,
                 gpu_reader: Callable[[], tuple[float | None, str]] = read_nvidia_gpu):
        self._root = psutil.Process(root or os.getpid())
        self.gpu = gpu
        self._gpu_reader = gpu_reader
        self._prev: tuple[float, float, dict[int, float]] | None = None

    def _tree_cpu(self) -> tuple[dict[int, float], bool]:
        """CPU seconds per process of the worker's tree, and whether it has children."""
        out: dict[int, float] = {}
        children: list[psutil.Process] = []
        with contextlib.suppress(psutil.Error):
            children = self._root.children(recursive=True)
        for proc in [self._root, *children]:
            try:
                t = proc.cpu_times()
                out[proc.pid] = t.user + t.system
            except psutil.Error:
                continue  # ended meanwhile
        return out, bool(children)

    def sample(self) -> LoadReading:
        busy, total = _busy_and_total(psutil.cpu_times())
        own, rendering = self._tree_cpu()
        prev, self._prev = self._prev, (busy, total, own)
        gpu, note = (None, "")
        if self.gpu:
            gpu, note = (None, "GPU not counted while this worker renders") if rendering else self._gpu_reader()
        if prev is None or total - prev[1] <= 0:
            return LoadReading(None, None, gpu, note)
        span = total - prev[1]   # CPU seconds of all cores in the interval
        own_delta = sum(max(0.0, cpu - prev[2].get(pid, 0.0)) for pid, cpu in own.items())
        others = max(0.0, (busy - prev[0]) - own_delta)
        return LoadReading(min(100.0, 100.0 * others / span), min(100.0, 100.0 * own_delta / span), gpu, note)


@dataclass
class LoadHold:
    """Hold the worker asleep while other programs use more than `cpu_limit`% CPU or `gpu_limit`% GPU."""

    cpu_limit: float = 50.0
    gpu_limit: float | None = 50.0     # None: the GPU is not looked at
    release_after: int = 2             # readings below the limits before letting go
    reason: str = ""
    _calm: int = 0

    def step(self, reading: LoadReading) -> str:
        """Why the worker should stay asleep now ('' when it need not)."""
        why = self._over(reading)
        if why:
            self.reason, self._calm = why, 0
        elif self.reason and reading.others_cpu is not None:
            self._calm += 1
            if self._calm >= self.release_after:
                self.reason, self._calm = "", 0
        return self.reason

    def _over(self, r: LoadReading) -> str:
        if r.others_cpu is not None and r.others_cpu > self.cpu_limit:
            return f"your programs use {r.others_cpu:.0f}% CPU (limit {self.cpu_limit:.0f}%)"
        if self.gpu_limit is not None and r.gpu is not None and r.gpu > self.gpu_limit:
            return f"the GPU is {r.gpu:.0f}% busy (limit {self.gpu_limit:.0f}%)"
        return ""


