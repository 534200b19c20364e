"""End to end: files reach a real worker through the Shaman store or a copy per job, and render."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.packer.pack import PackRequest, pack_job
from tests.e2e.farm import blender_job, have_blender, make_blend, wait_for, wait_job

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]


@pytest.mark.parametrize("shaman", [True, False], ids=["shaman", "copy-per-job"])
async def test_blend_outside_shared_storage_reaches_worker_and_renders(farm, tmp_path, shaman):
    start_manager, start_workers, _ = farm
    manager = await start_manager(shaman_enabled=shaman)
    project = tmp_path / "artist-project"
    blend = make_blend(project / "shots" / "scene.blend", frames=2)
    texture = project / "textures" / "wood.png"
    texture.parent.mkdir(parents=True)
    texture.write_bytes(b"\x89PNG fake texture bytes")
    result = await pack_job(PackRequest(manager_url=manager.url, blendfile=blend, dependencies=[texture],
                                        job_name="shot 1", platform="linux"))
    shared = tmp_path / "shared"
    if shaman:
        assert result.approach == "shaman" and result.blendfile.startswith("{jobs}/")
        checkout = shared / "jobs" / result.checkout_id
        assert (checkout / "shots" / "scene.blend").is_symlink()
        assert (checkout / "textures" / "wood.png").read_bytes() == texture.read_bytes()
    else:
        assert result.approach == "copy"
        assert Path(result.blendfile).is_relative_to(shared) and Path(result.blendfile).is_file()
    out = shared / "renders"
    job = blender_job(Path(result.blendfile), out, frames="1-2", chunk_size=1, name="shot 1")
    if result.checkout_id:
        job["storage"] = {"shaman_checkout_id": result.checkout_id}
    workers = start_workers(1)
    status, stored = await manager.request("POST", "/api/v3/jobs", json=job)
    assert status == 200, stored
    assert await wait_job(manager, stored["id"], {"completed", "failed"}, 180, workers) == "completed"
    assert sorted(p.name for p in (out / "frames").glob("*.png")) == ["000001.png", "000002.png"]

    status, _ = await manager.request("DELETE", f"/api/v3/jobs/{stored['id']}", admin=True)
    assert status == 204
    if shaman:
        async def checkout_gone():
            return not (shared / "jobs" / result.checkout_id).exists()
        await wait_for(checkout_gone, 10, what="the Shaman checkout to be removed with the job")
        assert (shared / "file-store").exists()  # the stored files stay for later jobs


async def test_blend_on_shared_storage_is_rendered_in_place(farm, tmp_path):
    start_manager, start_workers, _ = farm
    manager = await start_manager(shaman_enabled=True)
    blend = make_blend(tmp_path / "shared" / "projects" / "scene.blend", frames=1)
    result = await pack_job(PackRequest(manager_url=manager.url, blendfile=blend, job_name="in place",
                                        platform="linux"))
    assert result.approach == "in-place"
    assert Path(result.blendfile) == blend
    assert not (tmp_path / "shared" / "jobs").exists() or not any((tmp_path / "shared" / "jobs").iterdir())
    workers = start_workers(1)
    out = tmp_path / "shared" / "renders-in-place"
    _, job = await manager.request("POST", "/api/v3/jobs", json=blender_job(blend, out, frames="1", chunk_size=1))
    assert await wait_job(manager, job["id"], {"completed", "failed"}, 120, workers) == "completed"
    await asyncio.sleep(0)
    assert (out / "frames" / "000001.png").exists()
