"""The preview switches from the front end to the Manager's hand-out order: `tablao submit
--no-preview-first / --pause-on-preview-failure` as a real process against a real Manager, whose
tasks a worker speaking HTTP then claims."""

from __future__ import annotations

import json

import pytest

from app.submit.preview_switches import preview_metadata, renders_frames
from tests.http_worker import HttpWorker
from tests.submit.conftest import needs_blender
from tests.submit.test_submit_cli import tablao_submit


def test_only_what_differs_from_the_defaults_is_sent():
    assert preview_metadata() == {}
    assert preview_metadata(preview_first=False) == {"preview_first": "false"}
    assert preview_metadata(pause_on_failure=True) == {"pause_on_preview_failure": "true"}
    assert renders_frames("simple-blender-render") and not renders_frames("ffmpeg-encode")


async def _first_three(manager, job_id: str) -> list[str]:
    worker = await HttpWorker(manager.url, name="render", task_types=["blender"]).register_and_sign_on()
    try:
        names = []
        for _ in range(3):
            status, task = await worker.claim()
            assert status == 200 and task["job"] == job_id, task
            names.append(task["name"])
            status, _ = await worker.complete(task["uuid"])
            assert status == 204
        return names
    finally:
        await worker.close()


@pytest.mark.slow  # the project is a scene made by Blender, read by Blender
@needs_blender
@pytest.mark.parametrize("flags, first_three, metadata", [
    ((), ["render-1", "render-10", "render-5"], {}),
    (("--no-preview-first", "--pause-on-preview-failure"), ["render-1", "render-2", "render-3"],
     {"preview_first": "false", "pause_on_preview_failure": "true"}),
])
async def test_the_switches_reach_the_manager(manager, project, tmp_path, flags, first_three, metadata):
    blend = project / "shots" / "scene.blend"
    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--json", "--set", "frames=1-10",
                                         "--set", "chunk_size=1", *flags, home=tmp_path)
    assert code == 0, err
    job = json.loads(out)
    for key in ("preview_first", "pause_on_preview_failure"):
        assert job["metadata"].get(key) == metadata.get(key)
    assert await _first_three(manager, job["id"]) == first_three
