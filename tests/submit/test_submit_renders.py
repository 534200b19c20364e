"""End to end: `tablao submit` sends a textured .blend through Shaman and a real worker renders it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import farm  # noqa: F401 - the fixture
from tests.e2e.farm import have_blender, wait_job
from tests.submit.test_submit_cli import tablao_submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]


async def test_a_submitted_job_renders_on_a_real_worker(farm, project, tmp_path):  # noqa: F811
    start_manager, start_workers, _ = farm
    manager = await start_manager(shaman_enabled=True)
    renders = tmp_path / "shared" / "renders"
    code, out, err = await tablao_submit(
        str(project / "shots" / "scene.blend"), "--manager", manager.url, "--json", "--name", "e2e",
        "--set", "frames=1-2", "--set", f"render_output_root={renders}", home=tmp_path)
    assert code == 0, err
    submitted = json.loads(out)
    assert submitted["storage"]["shaman_checkout_id"]
    workers = start_workers(1)
    assert await wait_job(manager, submitted["id"], {"completed", "failed"}, 180, workers) == "completed"
    _, job = await manager.request("GET", f"/api/v3/jobs/{submitted['id']}")
    frames_dir = Path(job["settings"]["render_output_path"]).parent
    assert frames_dir.is_relative_to(renders / "e2e")
    assert sorted(p.name for p in frames_dir.glob("*.png")) == ["000001.png", "000002.png"]
    assert all(p.stat().st_size > 0 for p in frames_dir.glob("*.png"))
