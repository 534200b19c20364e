"""End to end: a real Manager, real `tablao worker` processes, Debian's Blender and ffmpeg."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import make_config
from tests.e2e.farm import (
    WorkerProcess,
    blender_job,
    blender_processes,
    free_port,
    have_blender,
    job_status,
    make_blend,
    wait_awake,
    wait_for,
    wait_job,
)

pytestmark = [pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)")]


@pytest.mark.slow
async def test_two_workers_render_ten_frames_and_a_video(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "scene.blend", frames=10)
    out = tmp_path / "shared" / "out"
    workers = start_workers(2)
    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(blend, out))
    assert status == 200, job
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 240, workers) == "completed"
    frames = sorted((out / "frames").glob("*.png"))
    assert [f.name for f in frames] == [f"{i:06d}.png" for i in range(1, 11)]
    videos = list((out / "frames").glob("*.mp4"))
    assert len(videos) == 1 and videos[0].stat().st_size > 0
    _, tasks = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert len(tasks["tasks"]) == 6
    names = {}
    for task in tasks["tasks"]:
        _, detail = await manager.request("GET", f"/api/v3/tablao/tasks/{task['id']}/log")
        names[task["name"]] = detail
        if task["name"].startswith("render-"):
            assert "Saved:" in detail and "Blender" in detail, detail[-2000:]
    assert "ffmpeg" in names["preview-video"]
    workers_used = {t["worker"]["name"] for t in tasks["tasks"]}
    assert workers_used <= {"w0", "w1"}
    status, info = await manager.request("GET", f"/api/v3/jobs/{job['id']}/last-rendered")
    assert status == 200 and info["suffixes"], info


@pytest.mark.slow
async def test_cancel_mid_render_kills_blender(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "slow-scene.blend", frames=4, samples=4000, width=320, height=240)
    workers = start_workers(1)
    _, job = await manager.request("POST", "/api/v3/jobs",
                                   json=blender_job(blend, tmp_path / "shared" / "slow", frames="1-4", chunk_size=4))

    async def rendering():
        return blender_processes(str(blend))
    await wait_for(rendering, 60, what="blender to start rendering")
    await asyncio.sleep(1.0)
    status, _ = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                      json={"status": "cancel-requested", "reason": "test"})
    assert status == 204
    t0 = time.monotonic()

    async def gone():
        return not blender_processes(str(blend))
    await wait_for(gone, 10, interval=0.05, what="blender to be killed")
    elapsed = time.monotonic() - t0
    assert elapsed < 2.0, f"Blender was still alive {elapsed:.2f} s after the cancel"
    assert await job_status(manager, job["id"]) == "canceled"
    assert workers[0].proc.poll() is None  # the worker itself lives on


@pytest.mark.slow
async def test_kill_9_worker_mid_task_other_worker_finishes(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager(worker_timeout=2.0, task_timeout=30.0)
    checker = next(s for s in manager.services.background if type(s).__name__ == "TimeoutChecker")
    checker.interval = 0.5
    a = start_workers(1)[0]
    job = {"name": "sleepy", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "hi", "sleep_duration_seconds": 4, "sleep_repeats": 1}}
    _, job = await manager.request("POST", "/api/v3/jobs", json=job)

    async def sleep_task_active():
        _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
        return [t for t in body["tasks"] if t["name"] == "sleep" and t["status"] == "active"]
    await wait_for(sleep_task_active, 60, what="the sleep task to start")
    a.kill9()
    b = start_workers(1)[0]
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 60, [a, b]) == "completed"
    _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    sleep = next(t for t in body["tasks"] if t["name"] == "sleep")
    assert sleep["worker"]["name"] == b.name


ALWAYS_FAILS = """
const JOB_TYPE = {label: "Always fails", settings: [{key: "count", type: "int32", default: 3}]};
function compileJob(job) {
  for (let i = 0; i < job.settings.count; i++) {
    const t = author.Task(`fail-${i}`, "misc");
    t.addCommand(author.Command("exec", {exe: "false", args: []}));
    job.addTask(t);
  }
}
"""


# In the fast lane (about 1 s): the farm test that needs no Blender run, so real worker processes run there.
async def test_always_failing_command_blocklists_and_fails_job(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager(blocklist_threshold=1, task_fail_after_softfail_count=3)
    (tmp_path / "scripts").mkdir(exist_ok=True)
    (tmp_path / "scripts" / "always_fails.js").write_text(ALWAYS_FAILS)
    workers = start_workers(2)
    await wait_awake(manager, 2)  # both must be there, or the first failure leaves nobody to retry
    _, job = await manager.request("POST", "/api/v3/jobs", json={
        "name": "doomed", "type": "always-fails", "priority": 50, "submitter_platform": "linux", "settings": {}})
    assert await wait_job(manager, job["id"], {"failed", "completed"}, 60, workers) == "failed"
    _, blocks = await manager.request("GET", f"/api/v3/jobs/{job['id']}/blocklist")
    assert {b["worker_name"] for b in blocks} == {"w0", "w1"}
    assert {b["task_type"] for b in blocks} == {"misc"}
    _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    statuses = [t["status"] for t in body["tasks"]]
    assert "failed" in statuses and "active" not in statuses and "queued" not in statuses


@pytest.mark.slow
async def test_manager_restart_mid_job_loses_nothing(farm, tmp_path):
    start_manager, start_workers, state = farm
    manager = await start_manager()
    workers = start_workers(2)
    job = {"name": "long", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 8}}
    _, job = await manager.request("POST", "/api/v3/jobs", json=job)

    async def some_done():
        _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
        return sum(t["status"] == "completed" for t in body["tasks"]) >= 3
    await wait_for(some_done, 60, what="a few tasks to complete")
    await manager.stop()
    await asyncio.sleep(2.0)  # workers keep running; their updates wait in their local queues
    manager = await start_manager()
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 90, workers) == "completed"
    _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert len(body["tasks"]) == 9 and all(t["status"] == "completed" for t in body["tasks"])


@pytest.mark.slow
async def test_manager_killed_with_sigkill_mid_job_loses_nothing(tmp_path):
    """The Manager as a real process, killed hard while workers run: nothing stored is lost."""
    import os
    import signal
    import subprocess
    import sys

    import aiohttp

    from tests.e2e.farm import ROOT

    port = free_port()
    cfg = make_config(tmp_path, listen=f"127.0.0.1:{port}")
    url = f"http://127.0.0.1:{port}"

    def start_manager() -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--config", str(cfg.path)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    async def get(session, path):
        async with session.get(url + path) as resp:
            return resp.status, (await resp.json() if resp.status == 200 else None)

    manager = start_manager()
    workers = [WorkerProcess(url, tmp_path, f"k{i}").start() for i in range(2)]
    try:
        async with aiohttp.ClientSession() as session:
            async def up():
                try:
                    return (await get(session, "/api/v3/version"))[0] == 200
                except aiohttp.ClientError:
                    return False
            await wait_for(up, 30, what="the manager to start")
            job = {"name": "long", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                   "settings": {"message": "hi", "sleep_duration_seconds": 1, "sleep_repeats": 8}}
            async with session.post(url + "/api/v3/jobs", json=job) as resp:
                job = await resp.json()

            async def some_done():
                _, body = await get(session, f"/api/v3/jobs/{job['id']}/tasks")
                return sum(t["status"] == "completed" for t in body["tasks"]) >= 3
            await wait_for(some_done, 60, what="a few tasks to complete")
            os.kill(manager.pid, signal.SIGKILL)
            manager.wait(10)
            await asyncio.sleep(1.5)
            manager = start_manager()
            await wait_for(up, 30, what="the manager to restart")

            async def done():
                status, body = await get(session, f"/api/v3/jobs/{job['id']}")
                return status == 200 and body["status"] in ("completed", "failed") and body["status"]
            assert await wait_for(done, 90, what="the job to finish") == "completed"
            _, body = await get(session, f"/api/v3/jobs/{job['id']}/tasks")
            assert len(body["tasks"]) == 9 and all(t["status"] == "completed" for t in body["tasks"])
    finally:
        for w in workers:
            w.stop()
        manager.terminate()
        manager.wait(15)
