"""End to end: what a scene needs, read by `tablao submit` from .blend files Debian's Blender 3.4 made,
matched against what a real `tablao worker` process on this machine (which has no GPU) said at sign-on.

A Cycles scene set to render on the GPU waits, and the Manager and the dashboard's "why waiting" say
why; the CPU scene submitted after it renders; a job from a newer Blender than the worker's waits,
in words that name the worker's real Blender version.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import psutil
import pytest

from app.api.client import ManagerClient
from app.ui.why_waiting import explain, unmet_requirements
from app.worker.blender_version import parse_version
from app.worker.facts import read_backends
from tests.e2e.farm import WorkerProcess, blender_job, have_blender, make_blend, wait_awake, wait_job
from tests.submit.test_submit_cli import tablao_submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)"),
              pytest.mark.skipif(bool(read_backends()), reason="needs a machine whose worker finds no GPU")]

TO_GPU = """
import bpy
bpy.context.scene.cycles.device = 'GPU'
bpy.ops.wm.save_mainfile()
"""


def make_gpu_blend(path: Path) -> Path:
    """The small Cycles scene of `make_blend`, set to render on the GPU, as an artist with one would."""
    make_blend(path, frames=1, samples=1, width=32, height=24)
    result = subprocess.run(["blender", "-b", "--factory-startup", str(path), "--python-expr", TO_GPU],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return path


async def _submit(blend: Path, manager, home: Path) -> dict:
    import json

    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--json", home=home)
    assert code == 0, err
    return json.loads(out)


async def _why(client: ManagerClient, job_id: str) -> str:
    """The dashboard's sentence for the job, from what the real Manager answers."""
    job = (await client.job(job_id)).to_json()
    tasks = [t.to_json() for t in await client.job_tasks(job_id)]
    workers = [(await client.worker(w.id)).to_json() for w in await client.workers()]
    return explain(job, tasks, workers, [], "", await unmet_requirements(client, job_id))


async def test_scene_needs_reach_the_claim_and_the_words(farm, tmp_path):
    start_manager, _, state = farm
    manager = await start_manager()
    worker = WorkerProcess(manager.url, tmp_path, "cpu-only").start()
    state["workers"].append(worker)
    await wait_awake(manager, 1)
    version = parse_version(subprocess.run(["blender", "--version"], capture_output=True, text=True,
                                           timeout=60).stdout)
    _, listing = await manager.request("GET", "/api/v3/worker-mgt/workers")
    _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{listing['workers'][0]['id']}")
    assert shown["facts"] == {"gpu_backends": [], "memory_total": psutil.virtual_memory().total,
                              "blender_version": version}  # this machine has no GPU
    artist = tmp_path / "artist"
    gpu_blend = make_gpu_blend(artist / "gpu.blend")
    cpu_blend = make_blend(artist / "cpu.blend", frames=1, samples=1, width=32, height=24)

    gpu_job = await _submit(gpu_blend, manager, tmp_path)
    cpu_job = await _submit(cpu_blend, manager, tmp_path)
    assert await wait_job(manager, cpu_job["id"], {"completed"}, 120, [worker]) == "completed"

    status, answer = await manager.request("GET", f"/api/v3/tablao/jobs/{gpu_job['id']}/requirements")
    assert status == 200
    major_minor = ".".join(version.split(".")[:2])
    assert answer["requirements"] == {"engine": "CYCLES", "device": "GPU", "samples": 1, "resolution_x": 32,
                                      "resolution_y": 24, "resolution_percentage": 100,
                                      "blender_version": major_minor}
    assert answer["unmet"] == ["needs a GPU; no connected worker has one"]
    _, tasks = await manager.request("GET", f"/api/v3/jobs/{gpu_job['id']}/tasks")
    assert {t["status"] for t in tasks["tasks"]} == {"queued"}, tasks
    async with ManagerClient(manager.url) as client:
        assert await _why(client, gpu_job["id"]) == "The job needs a GPU; no connected worker has one."
        assert await _why(client, cpu_job["id"]) == ""

        newer = blender_job(cpu_blend, tmp_path / "shared" / "out", frames="1-1", chunk_size=1, name="from 9.1")
        status, job = await manager.request("POST", "/api/v3/jobs", json={
            **newer, "requirements": {"engine": "CYCLES", "device": "CPU", "blender_version": "9.1"}})
        assert status == 200, job
        assert await _why(client, job["id"]) == (
            f"The job needs Blender 9.1 or newer (the file was saved with it); the connected workers have "
            f"Blender {version}.")
    assert await wait_job(manager, gpu_job["id"], {"queued"}, 1) == "queued"
    assert await wait_job(manager, job["id"], {"queued"}, 1) == "queued"
    assert "signed on" in worker.output()
