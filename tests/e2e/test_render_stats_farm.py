"""End to end: a real `tablao worker` reads the render time and peak memory from Debian's Blender's own
lines and sends them with each render task's final status; the Manager stores them with the task's
run (the ETA's history), and a task of other commands (the preview video) carries none."""

from __future__ import annotations

import re

import pytest

from app.manager.persistence.models import TaskRun
from app.worker.render_stats import frame_seconds
from tests.e2e.farm import WorkerProcess, blender_job, have_blender, make_blend, wait_awake, wait_job

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)")]


async def test_a_real_worker_sends_blenders_render_time_and_peak_memory(farm, tmp_path):
    start_manager, _, state = farm
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "stats.blend", frames=3)
    worker = WorkerProcess(manager.url, tmp_path, "stats-w").start()
    state["workers"].append(worker)
    await wait_awake(manager, 1)
    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(
        blend, tmp_path / "shared" / "out", frames="1-3", chunk_size=2))
    assert status == 200, job
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 240, [worker]) == "completed"
    await manager.services.machine.runs.flush()
    runs = await manager.services.store.call(lambda: list(
        TaskRun.select(TaskRun.task_uuid, TaskRun.task_type, TaskRun.seconds, TaskRun.render_time_s,
                       TaskRun.peak_memory_mb, TaskRun.blend_key)
        .where(TaskRun.job_uuid == job["id"]).tuples()))
    renders = [r for r in runs if r[1] == "blender"]
    assert len(renders) == 2  # frames 1-2, then 3
    for task_id, _, seconds, render_time, memory, key in renders:
        _, log = await manager.request("GET", f"/api/v3/tablao/tasks/{task_id}/log")
        # What Blender printed: each frame's closing "Time: 00:00.37 (Saving: ...)", and its memory.
        times = [frame_seconds(line.split("> ", 1)[1].strip()) for line in log.splitlines() if "> " in line]
        said = [t for t in times if t is not None]
        assert said and render_time == pytest.approx(sum(said)) and render_time <= seconds
        peaks = [float(m) for m in re.findall(r"\(Peak (\d+(?:\.\d+)?)M\)", log)]
        assert memory is not None and memory == pytest.approx(max(peaks))
        assert key == str(blend)
    video = [r for r in runs if r[1] == "ffmpeg"]
    assert len(video) == 1 and video[0][3] is None and video[0][4] is None
