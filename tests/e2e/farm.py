"""Helpers for end-to-end tests: real worker processes, a .blend made by Debian's Blender."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[2]

MAKE_BLEND = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = {samples}
scene.cycles.use_denoising = False
scene.cycles.use_adaptive_sampling = {adaptive}
scene.render.resolution_x = {width}
scene.render.resolution_y = {height}
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = {frames}
scene.render.image_settings.file_format = 'PNG'
cube = bpy.data.objects.get('Cube')
if cube is not None:
    cube.rotation_mode = 'XYZ'
    cube.keyframe_insert('rotation_euler', frame=1)
    cube.rotation_euler[2] = 3.14
    cube.keyframe_insert('rotation_euler', frame={frames})
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


def make_blend(path: Path, frames: int = 10, samples: int = 2, width: int = 64, height: int = 48,
               adaptive: bool = True) -> Path:
    """Create a small Cycles scene with Debian's Blender (no denoiser in that build). Without adaptive
    sampling every sample is rendered, so a frame takes as long as its sample count says."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = MAKE_BLEND.format(adaptive=adaptive, samples=samples, width=width, height=height, frames=frames,
                               path=path)
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=120)
    assert path.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return path


def blender_job(blend: Path, out_dir: Path, frames: str = "1-10", chunk_size: int = 2, name: str = "render") -> dict:
    return {
        "name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
        "settings": {
            "frames": frames, "chunk_size": chunk_size, "render_output_root": str(out_dir),
            "add_path_components": 0, "render_output_path": str(out_dir / "frames" / "######"),
            "blendfile": str(blend), "fps": 24.0, "format": "PNG", "image_file_extension": ".png",
            "has_previews": False, "scene": "Scene",
        },
    }


class WorkerProcess:
    """`tablao worker --headless` as a real subprocess with its own data folder."""

    def __init__(self, manager_url: str, root: Path, name: str, **config):
        self.name = name
        self.dir = root / f"worker-{name}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.config = self.dir / "flamenco-worker.yaml"
        self.config.write_text(yaml.safe_dump({"manager_url": manager_url, "worker_name": name,
                                                "data_dir": str(self.dir / "data"), **config}))
        self.log_path = self.dir / "worker.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> WorkerProcess:
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        with open(self.log_path, "ab") as log:  # the worker keeps its own copy of the descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "worker", "--headless", "--worker-config", str(self.config)],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill9(self) -> None:
        """Kill the worker process only (as a crash would); its children are left to die with it."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 10) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def blender_processes(marker: str) -> list[psutil.Process]:
    """Blender processes whose command line names `marker`: give the scene's whole path, so the same
    test running beside this one (its PostgreSQL copy, under pytest-xdist) is not counted."""
    found = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        try:
            cmd = " ".join(proc.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if "blender" in (proc.info["name"] or "") and marker in cmd:
            found.append(proc)
    return found


async def wait_for(predicate, timeout: float, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        result = await predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)


def have_blender() -> bool:
    return shutil.which("blender") is not None and shutil.which("ffmpeg") is not None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_awake(manager, count: int) -> None:
    async def awake():
        _, body = await manager.request("GET", "/api/v3/worker-mgt/workers")
        return sum(w["status"] == "awake" for w in body["workers"]) >= count
    await wait_for(awake, 60, what=f"{count} workers to be awake")


async def job_status(manager, job_id: str) -> str:
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    return job["status"] if status == 200 else f"http-{status}"


async def wait_job(manager, job_id: str, wanted: set[str], timeout: float, workers=()) -> str:
    async def check():
        s = await job_status(manager, job_id)
        return s if s in wanted else None
    try:
        return await wait_for(check, timeout, what=f"job {job_id} to reach {wanted}")
    except AssertionError as exc:
        logs = "\n".join(f"--- {w.name}\n{w.output()[-3000:]}" for w in workers)
        raise AssertionError(f"job is {await job_status(manager, job_id)}; worker logs:\n{logs}") from exc
