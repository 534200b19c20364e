"""Flamenco's own Blender add-on pointed at the hub, as its requests: the ten operations it makes
(version gate, shared storage, job types, worker tags, the compile check, Shaman requirements, the
file status and upload with deferral, the checkout named after the job, the submission with no
metadata and `{jobs}/<checkout>/...` as its blendfile), in its order and shapes. The job renders on
site A with a real worker and Blender, and the hub shows it completed there.

The add-on itself is not on this machine (no copy of Flamenco's repository or its add-on ZIP), so
this replays what it sends (docs of Flamenco v3's add-on: the ten operations and their order)."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

import app
from tests.e2e.farm import WorkerProcess, have_blender, wait_job
from tests.hub.conftest import eventually
from tests.submit.conftest import project, textured_template  # noqa: F401 - the fixtures

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]


async def test_flamenco_addon_requests_through_the_hub_render_on_a_site(hub_farm, project, tmp_path):  # noqa: F811
    hub = await hub_farm.start_hub(shaman=True)
    await hub_farm.join("A")
    site_a = await hub_farm.start_site("A")
    worker = WorkerProcess(site_a.url, tmp_path, "a1").start()
    try:
        # "Refresh from Manager": the version gate, the storage, the job types and the tags.
        status, version = await hub.request("GET", "/api/v3/version")
        assert status == 200 and version["shortversion"] == app.FLAMENCO_COMPAT_VERSION, "the add-on's gate"
        status, storage = await hub.request("GET", "/api/v3/configuration/shared-storage/users/linux")
        assert status == 200 and storage["shamanEnabled"] is True
        status, types = await hub.request("GET", "/api/v3/jobs/types")
        render = next(t for t in types["job_types"] if t["name"] == "simple-blender-render")
        status, tags = await hub.request("GET", "/api/v3/worker-mgt/tags")
        assert status == 200 and "tags" in tags

        name = "flamenco-addon shot"
        renders = tmp_path / "site-A" / "shared" / "renders"
        settings = {"frames": "1-2", "chunk_size": 2, "fps": 24, "format": "PNG", "image_file_extension": ".png",
                    "has_previews": False, "scene": "Scene", "render_output_root": str(renders),
                    "render_output_path": f"{renders}/{name}/######"}
        job = {"name": name, "type": render["name"], "type_etag": render["etag"], "priority": 50,
               "submitter_platform": "linux", "initial_status": "queued", "metadata": {},
               "settings": {**settings, "blendfile": "/placeholder/scene.blend"}}
        status, body = await hub.request("POST", "/api/v3/jobs/check", json=job)
        assert status == 204, body

        # BAT-packed files to the hub's Shaman: requirements, each unknown file's status, then upload.
        files = {"shots/scene.blend": (project / "shots" / "scene.blend").read_bytes(),
                 "tex/wood.png": (project / "tex" / "wood.png").read_bytes()}
        specs = [{"sha": hashlib.sha256(d).hexdigest(), "size": len(d), "path": p} for p, d in files.items()]
        status, needed = await hub.request("POST", "/api/v3/shaman/checkout/requirements", json={"files": specs})
        assert status == 200 and len(needed["files"]) == 2
        for n, (spec, data) in enumerate(zip(specs, files.values(), strict=True)):
            url = f"/api/v3/shaman/files/{spec['sha']}/{spec['size']}"
            status, state = await hub.request("GET", url)
            assert status == 200 and state["status"] == "unknown"
            defer = "false" if n == len(specs) - 1 else "true"
            status, _ = await hub.request("POST", url, data=data, headers={
                "Content-Type": "application/octet-stream", "X-Shaman-Can-Defer-Upload": defer,
                "X-Shaman-Original-Filename": spec["path"]})
            assert status == 204
        status, made = await hub.request("POST", "/api/v3/shaman/checkout/create",
                                         json={"files": specs, "checkoutPath": name})
        assert status == 200, made
        checkout = made["checkoutPath"]
        job["settings"]["blendfile"] = f"{{jobs}}/{checkout}/shots/scene.blend"
        job["storage"] = {"shaman_checkout_id": checkout}
        status, submitted = await hub.request("POST", "/api/v3/jobs", json=job)
        assert status == 200, submitted
        assert submitted["site"] == "A" and submitted["hub"]["state"] == "delivered", submitted

        assert await wait_job(site_a, submitted["id"], {"completed", "failed"}, 180, [worker]) == "completed"
        frames = sorted(p.name for p in (renders / name).glob("*.png"))
        assert frames == ["000001.png", "000002.png"]

        async def completed_at_hub() -> bool:
            _, shown = await hub.request("GET", f"/api/v3/jobs/{submitted['id']}")
            return shown["status"] == "completed" and shown["site"] == "A"
        await eventually(completed_at_hub, what="the render completed, as the hub shows it")
    finally:
        await asyncio.to_thread(worker.stop)

