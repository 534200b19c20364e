"""End to end: a real `tablao worker` process reports its vitals while Debian's Blender renders, and the
Manager's API shows them: the Blender version `blender --version` says, the machine's CPU and memory,
and the frame and samples of the render; after the job, the worker shows no task and its day counts it.
"""

from __future__ import annotations

import datetime as dt
import subprocess

import pytest

from app.worker.blender_version import parse_version
from tests.e2e.farm import (
    WorkerProcess,
    blender_job,
    have_blender,
    make_blend,
    wait_awake,
    wait_for,
    wait_job,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)")]

SAMPLES = 1500


async def test_a_real_worker_reports_its_vitals_and_render_progress(farm, tmp_path):
    start_manager, _, state = farm
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "vitals.blend", frames=2, samples=SAMPLES, width=160, height=120,
                       adaptive=False)  # about 4 s a frame: several vitals reports fall inside it
    worker = WorkerProcess(manager.url, tmp_path, "vitals-w", vitals_every_s=1).start()
    state["workers"].append(worker)
    await wait_awake(manager, 1)
    _, listing = await manager.request("GET", "/api/v3/worker-mgt/workers")
    wid = listing["workers"][0]["id"]

    async def shown(check=lambda v: True):
        _, body = await manager.request("GET", f"/api/v3/worker-mgt/workers/{wid}")
        vitals = body.get("vitals")
        return (body, vitals) if vitals and check(vitals) else None

    said = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout
    _, idle = await wait_for(lambda: shown(lambda v: "blender_version" in v and "cpu_percent" in v), 30,
                             what="the idle worker's vitals")
    assert idle["blender_version"] == parse_version(said)
    assert idle["cpu_count"] >= 1 and 0 < idle["memory_used"] <= idle["memory_total"]
    assert 0 <= idle["cpu_percent"] <= 100 and "frame" not in idle

    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(
        blend, tmp_path / "shared" / "out", frames="1-2", chunk_size=2))
    assert status == 200, job
    body, rendering = await wait_for(
        lambda: shown(lambda v: v.get("frame") in (1, 2) and v.get("samples_total") == SAMPLES), 120, interval=0.1,
        what="vitals with the frame and samples of the render")
    assert 0 <= rendering["sample"] <= SAMPLES
    assert body["task"]["status"] == "active" and body["task"]["job_id"] == job["id"]
    assert rendering["render_cpu_percent"] > 0 and rendering["render_memory"] > idle["render_memory"]

    assert await wait_job(manager, job["id"], {"completed", "failed"}, 240, [worker]) == "completed"
    body, after = await wait_for(lambda: shown(lambda v: "frame" not in v), 20, what="vitals without a frame")
    assert "task" not in body  # idle again: not its last task
    midnight = dt.datetime.combine(dt.date.today(), dt.time(0, 0)).astimezone().isoformat()
    status, day = await manager.request("GET", f"/api/v3/tablao/workers/{wid}/day", params={"since": midnight})
    assert status == 200, day
    assert (day["tasks_completed"], day["tasks_failed"], day["frames_rendered"]) == (2, 0, 2)
    assert day["seconds"] > 0 and day["last_frame"]["job_id"] == job["id"]
