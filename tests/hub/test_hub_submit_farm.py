"""End to end: `tablao submit --manager HUB --site A` packs a textured .blend into the hub's Shaman;
site A fetches the files, makes its own checkout, and its real worker renders the frames."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.farm import WorkerProcess, have_blender, wait_job
from tests.hub.conftest import eventually
from tests.submit.conftest import project, textured_template  # noqa: F401 - the fixtures
from tests.submit.test_submit_cli import tablao_submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]


async def test_tablao_submit_through_the_hub_renders_at_the_named_site(hub_farm, project, tmp_path):  # noqa: F811
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    await hub_farm.join("B")
    site_a = await hub_farm.start_site("A")
    await hub_farm.start_site("B")
    worker = WorkerProcess(site_a.url, tmp_path, "a1").start()
    try:
        renders = tmp_path / "site-A" / "shared" / "renders"
        code, out, err = await tablao_submit(
            str(project / "shots" / "scene.blend"), "--manager", hub.url, "--site", "A", "--json", "--name", "hubbed",
            "--set", "frames=1-2", "--set", f"render_output_root={renders}", home=tmp_path)
        assert code == 0, err
        submitted = json.loads(out)
        checkout = submitted["storage"]["shaman_checkout_id"]
        _, shown = await hub.request("GET", f"/api/v3/jobs/{submitted['id']}")
        assert checkout and shown["site"] == "A" and shown["hub"]["state"] == "delivered", shown
        assert hub.hub.shaman.blobs_served >= 2  # the .blend and its texture, fetched by A
        assert await wait_job(site_a, submitted["id"], {"completed", "failed"}, 180, [worker]) == "completed"
        _, job = await site_a.request("GET", f"/api/v3/jobs/{submitted['id']}")
        frames_dir = Path(job["settings"]["render_output_path"]).parent
        assert sorted(p.name for p in frames_dir.glob("*.png")) == ["000001.png", "000002.png"]

        async def completed_at_hub() -> bool:
            _, shown = await hub.request("GET", f"/api/v3/jobs/{submitted['id']}")
            return shown["status"] == "completed"
        await eventually(completed_at_hub, what="the render completed at the hub")
    finally:
        import asyncio
        await asyncio.to_thread(worker.stop)
