"""A submitter's output path cannot make workers write anywhere they can: only under the output roots.

Real Manager over real HTTP: jobs whose commands would write outside the shared storage and the
configured roots are refused in words with nothing stored; the roots travel to the worker with each
task, spelled for its platform; the worker's own check (app/worker/output_check.py) refuses links
that lead out of the roots or into the Shaman store.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.api.models import AssignedTask
from app.worker.output_check import OutputRefused, check_output
from tests.http_worker import HttpWorker


def _render_job(blend: str, output: str, name: str = "shot") -> dict:
    return {"name": name, "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": {"frames": "1-2", "chunk_size": 1, "render_output_root": str(Path(output).parent),
                         "add_path_components": 0, "render_output_path": output, "blendfile": blend,
                         "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": True,
                         "scene": "Scene"}}


async def _jobs(manager) -> list:
    return (await manager.request("GET", "/api/v3/jobs"))[1]["jobs"]


@pytest.mark.parametrize("output", ["/tmp/elsewhere/######", "{shared}/../../etc/cron.d/######",
                                    "{shared}/file-store/stored/aa/######", "relative/######"])
async def test_jobs_writing_outside_the_roots_are_refused_and_not_stored(manager, output):
    shared = manager.cfg.shared_storage_path
    output = output.format(shared=shared)
    for path in ("/api/v3/jobs/check", "/api/v3/jobs"):
        status, body = await manager.request("POST", path, json=_render_job(f"{shared}/shot.blend", output))
        assert status == 400, body
        assert "would write to" in body["message"] and "output_roots" in body["message"], body
    assert await _jobs(manager) == []


async def test_the_refusal_names_the_path_and_the_allowed_folders(manager):
    shared = manager.cfg.shared_storage_path
    status, body = await manager.request("POST", "/api/v3/jobs", json=_render_job(f"{shared}/a.blend", "/tmp/x/####"))
    assert status == 400
    assert "/tmp/x/####" in body["message"] and shared in body["message"], body["message"]


async def test_output_under_the_shared_storage_or_a_configured_root_is_accepted(manager_factory, tmp_path):
    manager = await manager_factory(output_roots=["/mnt/render", "{jobs}"])
    shared = manager.cfg.shared_storage_path
    for output in (f"{shared}/out/######", "/mnt/render/shot/######", "/mnt/render/../render/x/######"):
        status, body = await manager.request("POST", "/api/v3/jobs", json=_render_job(f"{shared}/a.blend", output))
        assert status == 200, (output, body)
    status, body = await manager.request("POST", "/api/v3/jobs", json=_render_job(f"{shared}/a.blend", "/mnt/other/#"))
    assert status == 400


async def test_two_way_variables_are_roots_by_default_and_travel_per_platform(manager_factory):
    variables = {"render": {"is_twoway": True, "values": [{"platform": "linux", "value": "/mnt/render"},
                                                          {"platform": "windows", "value": "R:\\render"}]}}
    manager = await manager_factory(variables=variables)
    shared = manager.cfg.shared_storage_path
    status, job = await manager.request("POST", "/api/v3/jobs",
                                        json=_render_job(f"{shared}/a.blend", "/mnt/render/shot/######"))
    assert status == 200, job
    worker = await HttpWorker(manager.url, name="win", platform="windows").register_and_sign_on()
    try:
        status, task = await worker.claim()
    finally:
        await worker.close()
    assert status == 200, task
    assert "R:\\render" in task["output_roots"]
    assert any(root.endswith("shared") for root in task["output_roots"])
    assert task["output_denied"] and task["output_denied"][0].endswith("file-store")


async def test_a_render_that_writes_where_the_scene_says_is_refused(manager):
    scripts = manager.cfg.scripts_dir
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "sceneout.js").write_text("""
const JOB_TYPE = {label: "Scene output", settings: [{key: "blendfile", type: "string", required: true}]};
function compileJob(job) {
  const task = author.Task("render", "blender");
  task.addCommand(author.Command("blender-render", {exe: "{blender}", exeArgs: "{blenderArgs}",
      argsBefore: [], blendfile: job.settings.blendfile, args: ["--render-frame", "1"]}));
  job.addTask(task);
}
""")
    status, body = await manager.request("POST", "/api/v3/jobs", json={
        "name": "x", "type": "sceneout", "priority": 50, "submitter_platform": "linux",
        "settings": {"blendfile": f"{manager.cfg.shared_storage_path}/a.blend"}})
    assert status == 400 and "--render-output" in body["message"], body


# --- the worker's own check, on a real disk --------------------------------------------------------

def _task(roots, denied=()) -> AssignedTask:
    return AssignedTask(uuid="t", job="j", name="n", status="active", priority=50, job_priority=50,
                        job_type="x", task_type="blender", output_roots=roots, output_denied=list(denied))


def test_the_worker_refuses_a_link_out_of_the_roots(tmp_path):
    shared, outside = tmp_path / "shared", tmp_path / "outside"
    shared.mkdir(), outside.mkdir()
    os.symlink(outside, shared / "out")
    task = _task([str(shared)])
    check_output(task, shared / "real" / "frame.png", "test")
    with pytest.raises(OutputRefused, match="outside the folders") as info:
        check_output(task, shared / "out" / "frame.png", "test")
    assert str(outside) in str(info.value)


def test_the_worker_refuses_a_frame_name_that_links_into_the_shaman_store(tmp_path):
    shared = tmp_path / "shared"
    store = shared / "file-store" / "stored" / "ab"
    store.mkdir(parents=True)
    (store / "blob").write_bytes(b"someone's texture")
    (shared / "jobs" / "mine").mkdir(parents=True)
    os.symlink(store / "blob", shared / "jobs" / "mine" / "frame0001.png")
    task = _task([str(shared)], [str(shared / "file-store")])
    with pytest.raises(OutputRefused, match="never write"):
        check_output(task, shared / "jobs" / "mine" / "frame0001.png", "test")


def test_a_task_without_roots_is_not_checked_and_relative_paths_are_refused(tmp_path):
    check_output(_task(None), "/anywhere/at/all", "test")
    with pytest.raises(OutputRefused, match="absolute"):
        check_output(_task([str(tmp_path)]), "relative/x.png", "test")
