"""The worker's own output check on a real farm: a job whose output folder is a link out of the shared
storage passes the Manager's check (the Manager cannot see links on the workers' disks) and is stopped
by the worker before Blender writes a single frame there.
"""

from __future__ import annotations

import os

import pytest

from tests.e2e.farm import blender_job, have_blender, make_blend, wait_job

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)")]


async def test_a_linked_output_folder_out_of_the_shared_storage_is_refused_by_the_worker(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager()
    shared, outside = tmp_path / "shared", tmp_path / "outside"
    outside.mkdir()
    os.symlink(outside, shared / "out")
    blend = make_blend(shared / "scene.blend", frames=1, samples=1, width=32, height=24)
    workers = start_workers(1)
    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(blend, shared / "out", frames="1",
                                                                                  chunk_size=1))
    assert status == 200, job
    assert await wait_job(manager, job["id"], {"failed"}, 180, workers) == "failed"
    assert list(outside.rglob("*")) == []
    _, tasks = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    render = next(t for t in tasks["tasks"] if t["name"].startswith("render"))
    _, log = await manager.request("GET", f"/api/v3/tablao/tasks/{render['id']}/log")
    assert "outside the folders this farm lets jobs write to" in log and str(outside) in log, log[-2000:]
