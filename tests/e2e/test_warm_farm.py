"""End to end: warm Blender in real worker processes with Debian's Blender.

A test job type renders one frame per task with a `blender-render` command like the stock one,
optionally with `warm: false` or an extra argument.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import psutil
import pytest
from PIL import Image

from tests.e2e.farm import (
    MAKE_BLEND,
    blender_processes,
    have_blender,
    make_blend,
    wait_awake,
    wait_for,
    wait_job,
)

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender (bash .ci/run installs it)")]

WARM_TEST_JOB = """
const JOB_TYPE = {label: "Warm test render", settings: [
  {key: "blendfile", type: "string", required: true},
  {key: "out", type: "string", required: true},
  {key: "frames", type: "string", required: true},
  {key: "warm", type: "bool", default: true},
  {key: "extra", type: "string", default: ""},
]};
function compileJob(job) {
  const s = job.settings;
  for (const chunk of frameChunker(s.frames, 1)) {
    const args = ["--render-output", s.out + "/######", "--render-format", "PNG"];
    if (s.extra) args.push(s.extra);
    args.push("--render-frame", chunk.replaceAll("-", ".."));
    const params = {exe: "{blender}", exeArgs: "{blenderArgs}", argsBefore: [], blendfile: s.blendfile, args: args};
    if (!s.warm) params.warm = false;
    const task = author.Task(`render-${chunk}`, "blender");
    task.addCommand(author.Command("blender-render", params, 1));
    job.addTask(task);
  }
}
"""


# Frame 1 renders (almost) forever, frame 2 at once: Cycles' sample count is animated.
_SLOW_FIRST_FRAME = """
scene.cycles.samples = 1000000
scene.cycles.keyframe_insert('samples', frame=1)
scene.cycles.samples = 1
scene.cycles.keyframe_insert('samples', frame=2)
"""


def _make_slow_first_frame_blend(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Not adaptive: the noise threshold would end frame 1 after some 400 samples.
    script = MAKE_BLEND.format(adaptive=False, samples=1, width=64, height=36, frames=4, path=path)
    script = script.replace("bpy.ops.wm.save_as_mainfile", _SLOW_FIRST_FRAME + "bpy.ops.wm.save_as_mainfile")
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=120)
    assert path.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return path


def _install_job_type(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    (tmp_path / "scripts" / "warm_test_render.js").write_text(WARM_TEST_JOB)


async def _submit(manager, blend: Path, out: Path, frames: str, **settings) -> str:
    job = {"name": f"warm test {frames}", "type": "warm-test-render", "priority": 50,
           "submitter_platform": "linux",
           "settings": {"blendfile": str(blend), "out": str(out), "frames": frames, **settings}}
    status, body = await manager.request("POST", "/api/v3/jobs", json=job)
    assert status == 200, body
    return body["id"]


async def _task_logs(manager, job_id: str) -> dict[str, str]:
    _, body = await manager.request("GET", f"/api/v3/jobs/{job_id}/tasks")
    logs = {}
    for task in body["tasks"]:
        _, log = await manager.request("GET", f"/api/v3/tablao/tasks/{task['id']}/log")
        logs[task["name"]] = log
    return logs


def _pixels(path: Path) -> tuple:
    with Image.open(path) as img:
        return img.size, img.mode, img.tobytes()


async def test_warm_job_is_pixel_identical_to_cold_and_unknown_argument_runs_cold(farm, tmp_path):
    start_manager, start_workers, _ = farm
    _install_job_type(tmp_path)
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "ident.blend", frames=4, samples=1, width=64, height=36)
    workers = start_workers(1)
    cold = await _submit(manager, blend, tmp_path / "shared" / "cold", "1-3", warm=False)
    assert await wait_job(manager, cold, {"completed", "failed"}, 180, workers) == "completed"
    warm = await _submit(manager, blend, tmp_path / "shared" / "warm", "1-3")
    assert await wait_job(manager, warm, {"completed", "failed"}, 180, workers) == "completed"

    for n in (1, 2, 3):
        name = f"{n:06d}.png"
        assert _pixels(tmp_path / "shared" / "cold" / name) == _pixels(tmp_path / "shared" / "warm" / name), name
    cold_logs, warm_logs = await _task_logs(manager, cold), await _task_logs(manager, warm)
    for log in cold_logs.values():
        assert "cold Blender: the command asks for a cold run (warm: false)" in log and "Saved:" in log
    assert "going to run:" in warm_logs["render-1"] and "--python" in warm_logs["render-1"]
    for name in ("render-2", "render-3"):
        assert "warm Blender: reusing pid" in warm_logs[name] and "going to run:" not in warm_logs[name]
        assert "Saved:" in warm_logs[name]

    odd = await _submit(manager, blend, tmp_path / "shared" / "odd", "1", extra="--debug-gpu")
    assert await wait_job(manager, odd, {"completed", "failed"}, 120, workers) == "completed"
    log = (await _task_logs(manager, odd))["render-1"]
    assert "cold Blender: unknown argument '--debug-gpu'" in log and "Saved:" in log


async def test_blend_changed_between_tasks_is_reloaded(farm, tmp_path):
    start_manager, start_workers, _ = farm
    _install_job_type(tmp_path)
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "change.blend", frames=4, samples=1, width=64, height=36)
    workers = start_workers(1)
    out = tmp_path / "shared" / "out"
    first = await _submit(manager, blend, out, "1")
    assert await wait_job(manager, first, {"completed", "failed"}, 120, workers) == "completed"
    assert blender_processes(str(blend)), "the warm Blender should stay after its task"
    make_blend(blend, frames=4, samples=1, width=32, height=18)  # same path, new content
    second = await _submit(manager, blend, out, "2")
    assert await wait_job(manager, second, {"completed", "failed"}, 120, workers) == "completed"

    with Image.open(out / "000001.png") as one, Image.open(out / "000002.png") as two:
        assert one.size == (64, 36) and two.size == (32, 18)
    log = (await _task_logs(manager, second))["render-2"]
    assert "warm Blender: reloading" in log and "changed on disk" in log and "going to run:" in log
    assert blender_processes(str(blend))
    # SIGTERM: the worker shuts down and stops its warm Blender. In a thread: the worker signs off with
    # the Manager, which runs in this event loop; then wait for Blender to go, which may end just after.
    await asyncio.to_thread(workers[0].stop)
    assert workers[0].proc.returncode is not None

    async def blender_left() -> bool:
        try:
            return not [p for p in blender_processes(str(blend))
                        if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        except psutil.NoSuchProcess:  # went while we looked
            return False

    await wait_for(blender_left, 20, what="the warm Blender to stop with its worker")


async def test_killed_warm_blender_soft_fails_and_next_task_gets_a_fresh_one(farm, tmp_path):
    start_manager, start_workers, _ = farm
    _install_job_type(tmp_path)
    manager = await start_manager()
    blend = _make_slow_first_frame_blend(tmp_path / "shared" / "crash.blend")
    # A worker that registers and leaves: it "may come back", so the Manager soft-fails the task
    # instead of failing the job for want of anyone to retry it.
    spare = start_workers(1)[0]
    await wait_awake(manager, 1)
    await asyncio.to_thread(spare.stop)  # it signs off with the Manager in this event loop
    workers = start_workers(1)
    job = await _submit(manager, blend, tmp_path / "shared" / "out", "1-2")

    async def rendering():
        return blender_processes(str(blend))
    victim = (await wait_for(rendering, 60, what="the warm Blender to start"))[0]
    await asyncio.sleep(1.0)
    victim.kill()

    async def tasks():
        _, body = await manager.request("GET", f"/api/v3/jobs/{job}/tasks")
        return {t["name"]: t["status"] for t in body["tasks"]}

    async def second_done():
        got = await tasks()
        return got if got["render-2"] == "completed" else None
    try:
        await wait_for(second_done, 120, what="render-2 to complete")
    except AssertionError as exc:
        log = workers[0].output()[-3000:]
        raise AssertionError(f"{exc}; tasks {await tasks()}; worker log:\n{log}") from exc
    assert (await tasks())["render-1"] == "soft-failed"
    logs = await _task_logs(manager, job)
    # Unconfined Blender's own code; in the sandbox bubblewrap's (128 + SIGKILL), with words.
    assert ("blender exited with code -9" in logs["render-1"]
            or "blender exited with code 137 (the program in the sandbox was killed by SIGKILL)" in logs["render-1"])
    second = logs["render-2"]
    assert "going to run:" in second and "reusing" not in second and "Saved:" in second
    assert f"pid={victim.pid} " not in second
    assert workers[0].proc.poll() is None


async def test_no_blender_left_after_kill_9_of_the_worker(farm, tmp_path):
    start_manager, start_workers, _ = farm
    _install_job_type(tmp_path)
    manager = await start_manager()
    blend = make_blend(tmp_path / "shared" / "orphan.blend", frames=4, samples=1, width=64, height=36)
    worker = start_workers(1)[0]
    job = await _submit(manager, blend, tmp_path / "shared" / "out", "1")
    assert await wait_job(manager, job, {"completed", "failed"}, 120, [worker]) == "completed"
    idle = blender_processes(str(blend))
    assert idle, "the warm Blender should wait for the next task"
    # The warm Blender is the worker's own child (or, sandboxed, its bwrap's), not left in another
    # session's care.
    assert all(worker.pid in [a.pid for a in p.parents()] for p in idle)
    os.kill(worker.pid, signal.SIGKILL)
    worker.proc.wait(10)

    async def gone():
        return not [p for p in blender_processes(str(blend))
                    if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    await wait_for(gone, 10, interval=0.1, what="the warm Blender to die with the worker")
