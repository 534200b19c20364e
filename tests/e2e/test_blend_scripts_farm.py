"""A .blend file that runs Python when it loads: on a real farm, it runs only for a trusted submitter.

The scene carries a text block registered to run on load (what a rig's UI script or a malicious file
does) that writes a marker file. A real worker process renders it with Debian's Blender: submitted
anonymously, the render completes and the marker is never written; submitted with the submit token to
a Manager that allows scripts, the marker appears (so the test can tell the two apart).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.e2e.farm import blender_job, have_blender, make_blend, wait_job

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg (bash .ci/run installs them)")]

SUBMIT = "artist-token-1234"
ADD_AUTORUN = """
import bpy
text = bpy.data.texts.new("on_load.py")
text.write('import os, bpy\\n'
           'folder = r"{folder}"\\n'
           'os.makedirs(folder, exist_ok=True)\\n'
           'open(os.path.join(folder, "marker-" + bpy.path.basename(bpy.data.filepath) + ".txt"), "w").write("ran")\\n')
text.use_module = True
bpy.ops.wm.save_mainfile()
"""


def _autorun_blend(path: Path, marker_folder: Path) -> Path:
    make_blend(path, frames=1, samples=1, width=32, height=24)
    script = ADD_AUTORUN.format(folder=marker_folder)
    subprocess.run(["blender", "-b", str(path), "--python-expr", script], capture_output=True, timeout=120,
                   check=True)
    return path


async def test_scripts_in_a_blend_file_run_only_for_trusted_jobs(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager(allow_blend_scripts=True, submit_token=SUBMIT)
    shared = tmp_path / "shared"
    out = shared / "out"
    marker = out / "frames" / "marker-scene.blend.txt"
    blend = _autorun_blend(shared / "scene.blend", marker.parent)
    workers = start_workers(1)

    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(blend, out, frames="1", chunk_size=1))
    assert status == 200, job
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 180, workers) == "completed"
    assert not marker.exists(), "an anonymous job's .blend ran its own Python on the worker"
    _, tasks = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    render = next(t for t in tasks["tasks"] if t["name"].startswith("render"))
    _, log = await manager.request("GET", f"/api/v3/tablao/tasks/{render['id']}/log")
    assert "--disable-autoexec" in log and "will not run" in log

    status, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(blend, out, frames="1", chunk_size=1),
                                        headers={"Authorization": f"Bearer {SUBMIT}"})
    assert status == 200, job
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 180, workers) == "completed"
    assert marker.exists() and marker.read_text() == "ran"
