"""What the worker measures of itself while it runs, and its reports of it to the Manager.

`RenderProgress` is where the running render is (frame, samples), set by `blender-render`'s output
parser. `MachineSampler` reads the machine: its CPU use and that of the worker's own process tree
(Blender, FFmpeg, the worker: `app.common.load`), memory used and in all, the tree's memory, and the
GPUs (`gpu_info`). `VitalsReporter` sends these with the Blender version (`blender_version`) to the
Manager's `/api/v3/tablao/worker/vitals`: every `every_s` while the worker is awake, every
`asleep_every_s` while it is not, and as soon as the rendered frame changes (but never more than
once per `min_gap_s`), not per output line. A Manager without the route (a stock Flamenco one)
answers 404: the worker then stops sending for `unsupported_wait_s`. Reporting never holds up work:
failures are logged once and the next report tries again.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psutil

from app.api.codec import decode
from app.api.workers import TablaoWorkerVitalsReport
from app.common.load import LoadSampler
from app.worker.blender_version import BlenderVersion
from app.worker.client import AuthRejected, ManagerRejected, ManagerUnreachable, WorkerClient
from app.worker.gpu_info import GpuReader

_log = logging.getLogger(__name__)

EVERY_S = 5.0
ASLEEP_EVERY_S = 30.0
MIN_GAP_S = 1.0
UNSUPPORTED_WAIT_S = 600.0


@dataclass
class RenderProgress:
    """Where the running render is. Set on the event loop by the render's output parser."""

    frame: int | None = None
    sample: int | None = None
    samples_total: int | None = None
    #: The Blender the last render ran ("" before any): its version is the one reported.
    blender_exe: str = ""
    #: Set when the frame changes or the render ends: the reporter sends at once.
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def frame_started(self, frame: int) -> None:
        if frame != self.frame:
            self.frame, self.sample, self.samples_total = frame, None, None
            self.changed.set()

    def sampled(self, sample: int, total: int) -> None:
        self.sample, self.samples_total = sample, total

    def clear(self) -> None:
        """The render (the task) ended."""
        if self.frame is not None or self.sample is not None:
            self.frame = self.sample = self.samples_total = None
            self.changed.set()

    def as_json(self) -> dict[str, Any]:
        out = {"frame": self.frame, "sample": self.sample, "samples_total": self.samples_total}
        return {key: value for key, value in out.items() if value is not None}


class MachineSampler:
    """Reads the machine's CPU, memory and GPUs. Blocking: call `sample` from a thread."""

    def __init__(self, root_pid: int | None = None, gpus: GpuReader | None = None):
        self._root = psutil.Process(root_pid or os.getpid())
        self._load = LoadSampler(self._root.pid, gpu=False)
        self._gpus = gpus if gpus is not None else GpuReader()

    def sample(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        reading = self._load.sample()  # the first reading has no interval yet: no CPU figures
        if reading.others_cpu is not None and reading.own_cpu is not None:
            out["cpu_percent"] = round(min(100.0, reading.others_cpu + reading.own_cpu), 1)
            out["render_cpu_percent"] = round(reading.own_cpu, 1)
        if cpus := psutil.cpu_count():
            out["cpu_count"] = cpus
        memory = psutil.virtual_memory()
        out["memory_total"], out["memory_used"] = memory.total, max(0, memory.total - memory.available)
        out["render_memory"] = min(self._tree_memory(), memory.total)
        try:
            gpus = self._gpus.read()
        except Exception:  # noqa: BLE001 - a GPU reading must never stop the report
            _log.exception("reading the GPUs failed")
            gpus = []
        if gpus:
            out["gpus"] = gpus
        return out

    def _tree_memory(self) -> int:
        total = 0
        try:
            procs = [self._root, *self._root.children(recursive=True)]
        except psutil.Error:
            procs = [self._root]
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                continue  # ended meanwhile
        return total


class VitalsReporter:
    """Sends the worker's vitals to the Manager until cancelled (see the module's docstring)."""

    def __init__(self, client: WorkerClient, progress: RenderProgress, versions: BlenderVersion,
                 awake: Callable[[], bool], sampler: MachineSampler | None = None, *,
                 every_s: float = EVERY_S, asleep_every_s: float = ASLEEP_EVERY_S, min_gap_s: float = MIN_GAP_S,
                 unsupported_wait_s: float = UNSUPPORTED_WAIT_S):
        self.client, self.progress, self.versions, self.awake = client, progress, versions, awake
        self.sampler = sampler
        self.every_s, self.asleep_every_s, self.min_gap_s = every_s, asleep_every_s, min_gap_s
        self.unsupported_wait_s = unsupported_wait_s
        self.sent = 0  # reports the Manager kept (tests)
        self._said = ""  # the last problem logged, so a lasting one is said once

    async def run(self) -> None:
        if self.sampler is None:
            self.sampler = await asyncio.to_thread(MachineSampler)
        last = -float("inf")
        while True:
            await self._wait(last)
            last = time.monotonic()
            self.progress.changed.clear()
            if self.client.credentials is None:
                continue  # not signed on yet
            wait = await self._report()
            if wait:
                await asyncio.sleep(wait)

    async def _wait(self, last: float) -> None:
        """Until the next report is due: its interval is over, or the frame changed (not too soon)."""
        interval = self.every_s if self.awake() else self.asleep_every_s
        due = last + interval - time.monotonic()
        if due > 0:
            try:
                async with asyncio.timeout(due):
                    await self.progress.changed.wait()
            except TimeoutError:
                return
        gap = last + self.min_gap_s - time.monotonic()
        if gap > 0:
            await asyncio.sleep(gap)

    async def measure(self) -> TablaoWorkerVitalsReport:
        """A report, in the model the Manager reads it with."""
        assert self.sampler is not None
        vitals = await asyncio.to_thread(self.sampler.sample)
        version = await self.versions.get(self.progress.blender_exe)
        if version:
            vitals["blender_version"] = version
        vitals.update(self.progress.as_json())  # read last: the freshest frame
        return decode(TablaoWorkerVitalsReport, vitals)

    async def _report(self) -> float:
        """Send one report; return how long to hold off before the next (0: as usual)."""
        try:
            kept = await self.client.send_vitals(await self.measure())
        except (ManagerUnreachable, ManagerRejected) as exc:
            if not isinstance(exc, AuthRejected):  # the state machine signs on again
                self._say(f"cannot report vitals: {exc}")
            return 0.0
        if not kept:
            self._say("the Manager does not take vitals (a Flamenco Manager?); asking again in "
                      f"{self.unsupported_wait_s:.0f} s")
            return self.unsupported_wait_s
        self.sent += 1
        self._said = ""
        return 0.0

    def _say(self, text: str) -> None:
        if text != self._said:
            self._said = text
            _log.info("%s", text)
