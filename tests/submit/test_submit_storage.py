"""`app.submit` against a real Manager and Debian's Blender: each storage approach, the settings the
scene implies, Shaman uploading nothing the second time, and a job type that changes meanwhile."""

from __future__ import annotations

import getpass
import shutil
import socket
from pathlib import Path

import pytest

from app.submit import (
    InvalidSetting,
    JobTypeChanged,
    SubmitRequest,
    preflight,
    prepare,
    read_blend,
    submit_blend,
    submit_prepared,
)
from app.submit.submission import client_for as _client
from tests.submit.conftest import needs_blender

pytestmark = [needs_blender, pytest.mark.slow]

SCRIPTS = Path(__file__).resolve().parents[2] / "app" / "manager" / "job_compilers" / "scripts"


async def _jobs(manager) -> list[dict]:
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 200, body
    return body["jobs"]


def _assert_scene_settings(settings: dict, blend: Path, name: str, shared: Path) -> None:
    """Frames, output and format as the template scene implies (frames 1-4, output `//render/`).

    The scene's output folder is kept when it is on the shared storage; elsewhere (the artist's own
    disk, where the Manager would refuse to write) the output goes to the shared storage's `renders`."""
    assert settings["frames"] == "1-4"
    assert settings["format"] == "PNG" and settings["image_file_extension"] == ".png"
    assert settings["fps"] == 25.0 and settings["scene"] == "Scene"
    root = blend.parent / "render" if blend.is_relative_to(shared) else shared / "renders"
    assert settings["render_output_root"] == str(root)
    # The Manager replaced {timestamp}; the rest is Path(root, last_n_dir_parts(0), jobname, ...).
    assert settings["render_output_path"].startswith(f"{root}/{name}/")
    assert settings["render_output_path"].endswith("/######")


async def test_in_place_when_the_file_is_on_the_shared_storage(manager_factory, textured_template, tmp_path):
    manager = await manager_factory(shaman_enabled=True)
    src, _ = textured_template
    project = tmp_path / "shared" / "projects" / "p1"
    shutil.copytree(src, project)
    blend = project / "shots" / "scene.blend"
    phases: list[str] = []
    result = await submit_blend(
        SubmitRequest(blend, manager.url, assignments=["chunk_size=3"], name="in place", paused=True),
        on_progress=lambda phase, done, total: phases.append(phase))
    assert result.approach == "in-place"
    job = result.job
    assert job.status == "paused" and job.name == "in place"
    assert job.metadata["user.name"] == getpass.getuser()  # the Submitter column: who and where from
    assert job.metadata["user.host"] == socket.gethostname()
    assert job.settings["blendfile"] == str(blend) and job.settings["chunk_size"] == 3
    _assert_scene_settings(job.settings, blend, "in place", tmp_path / "shared")
    assert [f.path.name for f in result.blend.files] == ["wood.png"] and not result.blend.missing
    assert not (tmp_path / "shared" / "jobs").exists() or not any((tmp_path / "shared" / "jobs").iterdir())
    assert phases[0] == "connecting" and "reading" in phases and phases[-1] == "done"
    _, tasks = await manager.request("GET", f"/api/v3/jobs/{job.id}/tasks")
    assert [t["name"] for t in tasks["tasks"]][:2] == ["render-1-3", "render-4"]


async def test_copy_per_job_copies_blend_and_texture(manager_factory, project, tmp_path):
    manager = await manager_factory(shaman_enabled=False)
    blend = project / "shots" / "scene.blend"
    result = await submit_blend(SubmitRequest(blend, manager.url, name="copy job"))
    assert result.approach == "copy"
    shared_blend = Path(result.job.settings["blendfile"])
    assert shared_blend.is_relative_to(tmp_path / "shared") and shared_blend.is_file()
    assert result.pack.job_dir is not None
    assert (result.pack.job_dir / "tex" / "wood.png").read_bytes() == (project / "tex" / "wood.png").read_bytes()
    assert shared_blend == result.pack.job_dir / "shots" / "scene.blend"
    assert result.job.settings["chunk_size"] == 1  # the job type's default
    _assert_scene_settings(result.job.settings, blend, "copy job", tmp_path / "shared")
    assert [j["id"] for j in await _jobs(manager)] == [result.job.id]


async def test_shaman_uploads_once_and_nothing_the_second_time(manager_factory, project, tmp_path):
    manager = await manager_factory(shaman_enabled=True)
    blend = project / "shots" / "scene.blend"
    request = SubmitRequest(blend, manager.url, name="shot 1", assignments=["chunk_size=2"],
                            cache_dir=tmp_path / "hash-cache")
    async with _client(request) as client:
        before = await preflight(await prepare(request, client=client), client=client)
    assert before.approach == "shaman" and before.files_total == 2 and not before.blocking
    assert before.files_on_manager == 0 and before.bytes_to_send == before.bytes_total > 0
    first = await submit_blend(request)
    assert first.approach == "shaman"
    assert first.pack.files_total == 2 and first.pack.files_uploaded == 2
    assert first.job.storage is not None and first.job.storage.shaman_checkout_id == first.pack.checkout_id
    assert first.job.settings["blendfile"] == f"{{jobs}}/{first.pack.checkout_id}/shots/scene.blend"
    checkout = tmp_path / "shared" / "jobs" / first.pack.checkout_id
    assert (checkout / "tex" / "wood.png").read_bytes() == (project / "tex" / "wood.png").read_bytes()
    _assert_scene_settings(first.job.settings, blend, "shot 1", tmp_path / "shared")

    async with _client(request) as client:
        after = await preflight(await prepare(request, client=client), client=client)
    assert after.files_on_manager == 2 and after.bytes_to_send == 0

    uploads: list[tuple[int, int]] = []
    second = await submit_blend(request, on_progress=lambda phase, done, total:
                                uploads.append((done, total)) if phase == "uploading" else None)
    assert second.approach == "shaman" and second.job.id != first.job.id
    assert second.pack.files_uploaded == 0 and second.pack.bytes_uploaded == 0
    assert uploads == []
    assert second.pack.checkout_id != first.pack.checkout_id  # each job its own checkout


async def test_a_job_type_that_changes_meanwhile_is_refreshed(manager_factory, project, tmp_path):
    manager = await manager_factory(shaman_enabled=False)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    script = scripts / "studio_render.js"
    script.write_text((SCRIPTS / "simple_blender_render.js").read_text())
    request = SubmitRequest(project / "shots" / "scene.blend", manager.url, job_type="studio-render")
    async with _client(request) as client:
        prepared = await prepare(request, client=client)
        old_etag = prepared.job_type.etag
        script.write_text(script.read_text().replace("Simple Blender Render", "Studio Render"))
        with pytest.raises(JobTypeChanged) as caught:
            await submit_prepared(prepared, client=client)
    assert "changed on the Manager" in str(caught.value)
    assert caught.value.job_type is not None and caught.value.job_type.etag != old_etag
    assert caught.value.job_type.label == "Studio Render"
    assert await _jobs(manager) == []
    # The per-job copy made for the refused job is gone again.
    assert not any(p.suffix == ".blend" for p in (tmp_path / "shared").rglob("*.blend"))


async def test_read_blend_reports_scene_and_a_missing_texture(project):
    (project / "tex" / "wood.png").unlink()
    info = await read_blend(project / "shots" / "scene.blend", jobname="j",
                            settings=[{"key": "frames", "type": "string", "eval": "f'{C.scene.frame_start}-{C.scene.frame_end}'"},
                                      {"key": "cam", "type": "string", "eval": "C.scene.camera.name + jobname"}])
    scene = info.scene
    assert (scene.name, scene.frames, scene.fps, scene.file_format, scene.camera) == ("Scene", "1-4", 25.0, "PNG", "Camera")
    assert scene.output_dir == str(project / "shots" / "render")
    assert [(f.path, f.raw, f.exists) for f in info.files] == [(project / "tex" / "wood.png", "//../tex/wood.png", False)]
    assert [f.path.name for f in info.missing] == ["wood.png"] and info.dependencies == []
    assert info.evaluated == {"frames": "1-4", "cam": "Cameraj"}
    with pytest.raises(InvalidSetting, match="'cam': its expression failed in Blender: NameError"):
        await read_blend(project / "shots" / "scene.blend",
                         settings=[{"key": "cam", "type": "string", "eval": "no_such_name"}])



async def test_preflight_blocks_on_a_missing_texture(manager_factory, project):
    manager = await manager_factory(shaman_enabled=False)
    (project / "tex" / "wood.png").unlink()
    request = SubmitRequest(project / "shots" / "scene.blend", manager.url)
    async with _client(request) as client:
        report = await preflight(await prepare(request, client=client), client=client)
    assert report.approach == "copy" and report.blocking
    assert [f.raw for f in report.missing] == ["//../tex/wood.png"]
    assert report.files_total == 1 and report.files_on_manager is None
    assert await _jobs(manager) == []
