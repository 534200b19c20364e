"""Preview frames first: a render job's first, last and middle chunks go out before the rest.

A real Manager on a real port, and a worker speaking HTTP that claims the job's render tasks and
reports them done (or failed): the order is the order the Manager handed them out.
"""

from __future__ import annotations

import pytest

from tests.http_worker import HttpWorker


def _render_job(frames: str = "1-100", chunk_size: int = 1, metadata: dict | None = None, **settings) -> dict:
    base = {"frames": frames, "chunk_size": chunk_size, "render_output_root": "/render/out",
            "add_path_components": 0, "render_output_path": "/render/out/job/######",
            "blendfile": "/render/shots/a.blend", "fps": 24.0, "format": "PNG", "image_file_extension": ".png",
            "has_previews": False, "scene": "Scene"}
    return {"name": "shot", "type": "simple-blender-render", "priority": 50, "submitter_platform": "linux",
            "settings": {**base, **settings}, "metadata": metadata or {}}


async def _submit(manager, body: dict) -> dict:
    status, job = await manager.request("POST", "/api/v3/jobs", json=body)
    assert status == 200, job
    return job


async def _hand_out(worker: HttpWorker, count: int) -> list[str]:
    """The names of the next `count` tasks the worker gets, each reported done before the next."""
    names = []
    for _ in range(count):
        status, task = await worker.claim()
        assert status == 200, task
        names.append(task["name"])
        status, _ = await worker.complete(task["uuid"])
        assert status == 204
    return names


@pytest.fixture
async def manager(manager_factory):
    return await manager_factory(output_roots=["/render/out"])


@pytest.fixture
async def blender_worker(manager):
    worker = await HttpWorker(manager.url, name="render", task_types=["blender"]).register_and_sign_on()
    # A second one, idle: a task the first one fails can still be retried, so the job does not fail.
    spare = await HttpWorker(manager.url, name="spare", task_types=["blender"]).register_and_sign_on()
    try:
        yield worker
    finally:
        await worker.close()
        await spare.close()


async def test_a_render_hands_out_first_last_and_middle_frames_first(manager, blender_worker):
    job = await _submit(manager, _render_job())
    assert await _hand_out(blender_worker, 6) == [
        "render-1", "render-100", "render-50", "render-25", "render-75", "render-2"]
    # The job page still lists the tasks in frame order.
    status, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 200
    assert [t["name"] for t in body["tasks"][:3]] == ["render-1", "render-2", "render-3"]
    assert [t["index_in_job"] for t in body["tasks"][:3]] == [1, 2, 3]


async def test_chunks_of_ten_start_with_the_chunks_holding_frames_1_100_and_50(manager, blender_worker):
    await _submit(manager, _render_job(chunk_size=10))
    assert await _hand_out(blender_worker, 4) == [
        "render-1-10", "render-91-100", "render-41-50", "render-21-30"]


@pytest.mark.parametrize("switch", [{"metadata": {"preview_first": "false"}}, {"preview_first": False}])
async def test_preview_first_off_per_job_gives_plain_order(manager, blender_worker, switch):
    await _submit(manager, _render_job(**switch))
    assert await _hand_out(blender_worker, 3) == ["render-1", "render-2", "render-3"]


async def test_an_earlier_job_still_goes_first(manager, blender_worker):
    await _submit(manager, _render_job(frames="1-3"))
    await _submit(manager, _render_job(frames="11-20"))
    assert await _hand_out(blender_worker, 4) == ["render-1", "render-3", "render-2", "render-11"]


async def test_a_switch_that_is_neither_true_nor_false_is_refused_and_nothing_is_stored(manager):
    status, body = await manager.request("POST", "/api/v3/jobs",
                                         json=_render_job(metadata={"preview_first": "sometimes"}))
    assert status == 400, body
    assert "`preview_first` must be true or false" in body["message"]
    status, body = await manager.request("POST", "/api/v3/jobs",
                                         json=_render_job(pause_on_preview_failure=[1]))
    assert status == 400, body
    assert "`pause_on_preview_failure` must be true or false" in body["message"]
    status, jobs = await manager.request("GET", "/api/v3/jobs")
    assert status == 200 and jobs["jobs"] == []


async def _job(manager, job_id: str) -> dict:
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert status == 200, job
    return job


async def test_a_failed_preview_is_told_and_pauses_the_job_that_asked(manager, blender_worker):
    job = await _submit(manager, _render_job(frames="1-9", pause_on_preview_failure=True))
    status, task = await blender_worker.claim()
    assert task["name"] == "render-1"
    status, _ = await blender_worker.fail(task["uuid"])
    assert status == 204
    stored = await _job(manager, job["id"])
    assert stored["status"] == "paused"
    assert stored["activity"] == "Preview task render-1 failed; the job is paused"
    status, _ = await blender_worker.claim()
    assert status == 204  # nothing more goes out of a paused job


async def test_a_failed_preview_is_told_without_pausing_by_default(manager, blender_worker):
    job = await _submit(manager, _render_job(frames="1-9"))
    _, task = await blender_worker.claim()
    await blender_worker.fail(task["uuid"])
    stored = await _job(manager, job["id"])
    assert stored["status"] == "active"
    assert stored["activity"] == "Preview task render-1 failed; check the frame"
    # A failure of a task that is not a preview changes nothing of the kind.
    names = await _hand_out(blender_worker, 5)
    assert names == ["render-9", "render-5", "render-3", "render-7", "render-2"]
    _, task = await blender_worker.claim()
    assert task["name"] == "render-4"
    await blender_worker.fail(task["uuid"])
    assert (await _job(manager, job["id"]))["activity"] == "Preview task render-1 failed; check the frame"
