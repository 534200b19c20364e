"""Job-type scripts cannot hold up other job types, and a too-large job is refused in words.

Against a real Manager with its real compiler processes (once, one looping
job-type script made every other submission wait for its 5 s limit; a 100,000-frame range was
refused with a message starting with "null").
"""

from __future__ import annotations

import asyncio

import pytest

from tests.conftest import echo_job

FOREVER = """const JOB_TYPE = {label: 'Forever', settings: []};
function compileJob(job) { while (true) {} }
"""


def blender_job(frames: str, chunk_size: int = 1) -> dict:
    return {"name": "huge", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": {"frames": frames, "chunk_size": chunk_size, "render_output_root": "/tmp/out/",
                         "add_path_components": 0, "render_output_path": "/tmp/out/huge/######",
                         "blendfile": "/tmp/huge.blend", "fps": 24.0, "format": "PNG",
                         "image_file_extension": ".png", "has_previews": False, "scene": "Scene"}}


@pytest.mark.slow  # waits out the compiler's time limit
async def test_a_looping_job_type_does_not_block_other_job_types(manager):
    scripts = manager.cfg.scripts_dir
    scripts.mkdir(parents=True, exist_ok=True)
    (scripts / "forever.js").write_text(FOREVER)
    pool = manager.services.compiler._engine
    # Load the job types and start the compiler processes (the pool keeps a spare beside a busy one).
    results = await asyncio.gather(*(manager.request("POST", "/api/v3/jobs/check", json=echo_job())
                                     for _ in range(2)))
    assert [status for status, _ in results] == [204, 204]

    looping = asyncio.create_task(manager.request("POST", "/api/v3/jobs", json={
        "name": "loops", "type": "forever", "priority": 50, "submitter_platform": "linux", "settings": {}}))
    while "forever" not in pool.busy_lanes:
        assert not looping.done(), looping.result()
        await asyncio.sleep(0.01)

    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200, job
    assert not looping.done(), "the echo job should have been stored while the looping one compiles"
    assert "forever" in pool.busy_lanes

    status, body = await looping
    assert status == 400 and "forever.js took too long" in body["message"]
    status, jobs = await manager.request("GET", "/api/v3/jobs")
    assert [j["name"] for j in jobs["jobs"]] == ["echo test"]


async def test_a_100000_frame_range_is_refused_in_words(manager_factory):
    manager = await manager_factory(output_roots=["/tmp/out"])
    status, body = await manager.request("POST", "/api/v3/jobs/check", json=blender_job("1-100000"))
    assert status == 400, body
    message = body["message"]
    assert not message.startswith("null") and "null" not in message, message
    assert 'frame range "1-100000" in chunks of 1 makes 100,000 tasks, more than the 50,000' in message
    assert "use a chunk size of at least 2, or split the frame range over several jobs" in message
    status, body = await manager.request("POST", "/api/v3/jobs", json=blender_job("1-100000"))
    assert status == 400
    status, jobs = await manager.request("GET", "/api/v3/jobs")
    assert jobs["jobs"] == []
    # What the message suggests works (a larger chunk than the least, to compile quickly here).
    status, body = await manager.request("POST", "/api/v3/jobs/check", json=blender_job("1-100000", 100))
    assert status == 204, body
