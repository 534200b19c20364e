"""Bench: the time the sandbox adds to a task, cold and warm Blender, sandboxed against not.

Run by hand: `.venv/bin/python bench/sandbox.py [--runs N]`. Prints its figures; asserts nothing.
One small Cycles scene (64x36, 1 sample, Debian's Blender on CPU), one frame per task, through the
worker's real task runner (the same code a worker runs, without a Manager). Per run, a task cold
and a task warm (the warm Blender reused between tasks), each once sandboxed and once not, the
order alternating between runs so drift hits both sides alike. Figures: per-task wall time
(median), and what the sandbox adds per task (paired difference: median, min, max). Also the bare
start of `bwrap ... true` against `true`, the floor of what confinement costs.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from app.api.models import AssignedTask  # noqa: E402
from app.worker.config import WorkerConfig  # noqa: E402
from app.worker.sandbox.bwrap import NAMESPACES  # noqa: E402
from app.worker.task_runner import TaskOutcome, TaskRunner  # noqa: E402
from app.worker.upstream_buffer import SendResult  # noqa: E402
from app.worker.warm.pool import WarmBlenders  # noqa: E402

SCENE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x = 64
scene.render.resolution_y = 36
scene.render.resolution_percentage = 100
scene.render.image_settings.file_format = 'PNG'
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


class Sink:
    """Takes task updates and keeps the log (the bench checks how each task ran)."""

    def __init__(self) -> None:
        self.log = ""

    async def send(self, task_id: str, payload: dict) -> SendResult:
        self.log += payload.get("log", "")
        return SendResult.DELIVERED

    def add_rejection_listener(self, listener):
        return lambda: None


def task(blend: Path, out: Path, frame: int, warm: bool) -> AssignedTask:
    params = {"exe": "blender", "exeArgs": "-b -y --factory-startup", "blendfile": str(blend),
              "args": ["--render-output", str(out / "######"), "--render-format", "PNG",
                       "--render-frame", str(frame)], "warm": warm}
    return AssignedTask.from_json({
        "uuid": f"bench-{frame}", "job": "bench", "name": "bench", "status": "queued", "priority": 50,
        "job_priority": 50, "job_type": "bench", "task_type": "blender", "steps_completed": 0,
        "steps_total": 1,
        "commands": [{"name": "blender-render", "parameters": params, "total_step_count": 1}]})


async def one_task(
    runner: TaskRunner, blend: Path, out: Path, frame: int, warm: bool, confined: bool
) -> float:
    sink = Sink()
    runner.sink = sink
    started = time.perf_counter()
    outcome = await runner.run(task(blend, out, frame, warm))
    elapsed = time.perf_counter() - started
    if outcome is not TaskOutcome.COMPLETED or not (out / f"{frame:06d}.png").is_file():
        raise SystemExit(f"task failed or made no frame:\n{sink.log[-3000:]}")
    if warm and frame > 1 and "reusing" not in sink.log:
        raise SystemExit(f"the warm Blender was not reused:\n{sink.log[-3000:]}")
    if ("going to run: " + str(shutil.which("bwrap")) in sink.log) != confined and not (warm and frame > 1):
        how = "unconfined" if confined else "confined"
        raise SystemExit(f"task ran {how} against expectation:\n{sink.log[-2000:]}")
    return elapsed


def floor(runs: int) -> tuple[float, float]:
    """Median seconds to run `true`, and `true` in a bare sandbox."""
    bwrap = shutil.which("bwrap")
    assert bwrap is not None
    sandboxed = [bwrap, *NAMESPACES, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                 "--tmpfs", "/tmp", "--", "true"]
    times: dict[str, list[float]] = {"plain": [], "bwrap": []}
    for _ in range(runs):
        for name, argv in (("plain", ["true"]), ("bwrap", sandboxed)):
            started = time.perf_counter()
            subprocess.run(argv, check=True)
            times[name].append(time.perf_counter() - started)
    return statistics.median(times["plain"]), statistics.median(times["bwrap"])


def stats(values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return f"{statistics.median(ms):8.1f} {min(ms):8.1f} {max(ms):8.1f}"


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10, help="tasks per mode and side")
    args = parser.parse_args()
    if shutil.which("blender") is None or shutil.which("bwrap") is None:
        raise SystemExit("needs blender and bwrap on PATH")
    with tempfile.TemporaryDirectory(prefix="tablao-bench-sandbox-") as tmp:
        root = Path(tmp)
        blend = root / "job" / "scene.blend"
        blend.parent.mkdir()
        subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", SCENE.format(path=blend)],
                       check=True, capture_output=True)
        if not blend.is_file():
            raise SystemExit("blender did not make the scene")
        sides = {}
        for name, mode in (("off", "off"), ("on", "on")):
            config = WorkerConfig(data_dir=root / f"data-{name}", sandbox=mode, warm_blender_idle_s=0)
            pool = WarmBlenders(config)
            sides[name] = (TaskRunner(Sink(), config, warm=pool), pool)
        times: dict[tuple[str, str], list[float]] = {(k, s): [] for k in ("cold", "warm") for s in sides}
        try:
            for name in sides:  # load the warm Blenders once; reuse is what is measured
                await one_task(sides[name][0], blend, root / f"out-warm-{name}", 1, True, name == "on")
            for run in range(args.runs):
                order = ("off", "on") if run % 2 == 0 else ("on", "off")
                for kind in ("cold", "warm"):
                    for name in order:
                        out = root / f"out-{kind}-{name}"
                        runner = sides[name][0]
                        elapsed = await one_task(runner, blend, out, run + 2, kind == "warm", name == "on")
                        times[(kind, name)].append(elapsed)
        finally:
            for _, pool in sides.values():
                await pool.close()
    print(f"{args.runs} tasks per row, one 64x36 Cycles frame each (ms)")
    print(f"{'':<28}{'median':>8} {'min':>8} {'max':>8}")
    for kind in ("cold", "warm"):
        for name in ("off", "on"):
            print(f"{kind + ' task, sandbox ' + name:<28}{stats(times[(kind, name)])}")
        added = [a - b for a, b in zip(times[(kind, "on")], times[(kind, "off")], strict=True)]
        print(f"{kind + ': the sandbox adds':<28}{stats(added)}")
    plain, confined = floor(50)
    print(f"bare start: true {plain * 1000:.1f} ms, bwrap ... true {confined * 1000:.1f} ms (median of 50)")


if __name__ == "__main__":
    asyncio.run(main())
