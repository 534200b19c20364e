"""Job settings as clients really send them, against a real Manager over HTTP.

Flamenco's own add-on sends a string setting the artist left unset as `""`. For a required
setting that is as good as missing: an empty `render_output_root` would put the frames in the
worker's working folder. The Manager answers 400 naming the setting, and stores nothing.
"""

from __future__ import annotations

import pytest


def _render_job(**settings) -> dict:
    base = {"frames": "1-4", "chunk_size": 2, "render_output_root": "/render/out", "add_path_components": 0,
            "render_output_path": "/render/out/job/######", "blendfile": "/render/shots/a.blend",
            "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": False,
            "scene": "Scene"}
    return {"name": "add-on job", "type": "simple-blender-render", "priority": 50,
            "submitter_platform": "linux", "settings": {**base, **settings}}


async def _job_count(manager) -> int:
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 200
    return len(body["jobs"])


@pytest.mark.parametrize("empty", ["", "   "])
async def test_empty_required_render_output_root_is_refused_by_name(manager, empty):
    status, body = await manager.request("POST", "/api/v3/jobs", json=_render_job(render_output_root=empty))
    assert status == 400, body
    assert "render_output_root" in body["message"] and "required" in body["message"]
    assert body["code"] == 400
    status, body = await manager.request("POST", "/api/v3/jobs/check", json=_render_job(render_output_root=empty))
    assert status == 400 and "render_output_root" in body["message"]
    assert await _job_count(manager) == 0


async def test_the_same_job_with_an_output_root_is_accepted(manager_factory):
    manager = await manager_factory(output_roots=["/render"])
    status, job = await manager.request("POST", "/api/v3/jobs", json=_render_job())
    assert status == 200, job
    assert job["settings"]["render_output_root"] == "/render/out"


async def test_echo_job_with_an_empty_message_is_refused(manager):
    status, body = await manager.request("POST", "/api/v3/jobs", json={
        "name": "echo", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "", "sleep_repeats": 1}})
    assert status == 400 and "'message' is required but empty" in body["message"]
