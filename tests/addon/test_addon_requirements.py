"""The add-on inside a real Blender 3.4 reads what the scene needs (Cycles on the GPU with the artist's
backend, the Blender that saved the file, a recorded peak) and sends it with the job; the Manager keeps
it and a CPU-only worker does not get the job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named
from tests.http_worker import HttpWorker

pytestmark = [needs_blender, pytest.mark.slow]

PEAK = 6 * 1024**3


async def test_the_addon_sends_the_scenes_requirements(manager_factory, tmp_path: Path) -> None:
    manager = await manager_factory(shaman_enabled=False)
    settings = {"render_output_root": str(tmp_path / "shared" / "render"), "chunk_size": 3}
    result = await run_blender(tmp_path, {
        "url": manager.url, "project": str(tmp_path / "shared" / "projects" / "film"),
        "steps": [("check_connection",), ("refresh",), ("configure", {"job_name": "gpu", "settings": settings}),
                  ("gpu_scene", {"backend": "CUDA", "peak": PEAK}), ("preflight",), ("submit",)]})
    submit = steps_named(result, "submit")[0]
    assert submit["result"] == ["FINISHED"], submit["message"]
    major, minor = steps_named(result, "gpu_scene")[0]["version"][:2]
    preflight = steps_named(result, "preflight")[0]
    assert preflight["report"]["needs"] == f"Cycles on a GPU (CUDA), Blender {major}.{minor} or newer, 6.0 GiB of memory"
    assert f"Needs: {preflight['report']['needs']}" in preflight["lines"]
    status, answer = await manager.request("GET", f"/api/v3/tablao/jobs/{submit['job_id']}/requirements")
    assert status == 200
    assert answer["requirements"] == {
        "engine": "CYCLES", "device": "GPU", "gpu_backend": "CUDA", "samples": 1, "blender_version": f"{major}.{minor}",
        "memory_peak": PEAK, "resolution_x": 32, "resolution_y": 24, "resolution_percentage": 100}
    laptop = await HttpWorker(manager.url, "laptop", facts={"gpu_backends": [], "memory_total": 8 * 1024**3,
                                                            "blender_version": "3.4.1"}).register_and_sign_on()
    try:
        status, _ = await laptop.claim()
        assert status == 204
        status, answer = await manager.request("GET", f"/api/v3/tablao/jobs/{submit['job_id']}/requirements")
        assert answer["unmet"] == ["needs a GPU (CUDA); no connected worker has one"]
    finally:
        await laptop.close()
