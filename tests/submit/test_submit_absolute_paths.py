"""End to end: a texture referred to by an ABSOLUTE path outside the project is packed and the packed
.blend points at the packed copy, for `tablao submit` with copy-per-job and with Shaman.

The original texture is moved away after submitting and before the worker starts, so a red frame
(the texture's colour; Cycles draws a missing image magenta) proves the worker read the packed copy.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from tests.e2e.conftest import farm  # noqa: F401 - the fixture
from tests.e2e.farm import have_blender, wait_job
from tests.submit.test_submit_cli import tablao_submit

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not have_blender(), reason="needs Debian's blender and ffmpeg")]

MAKE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.view_settings.view_transform = 'Standard'
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 32, 24, 100
scene.frame_start = scene.frame_end = 1
scene.render.image_settings.file_format = 'PNG'
img = bpy.data.images.new('red', 4, 4)
img.pixels = [1.0, 0.0, 0.0, 1.0] * 16
img.filepath_raw = r'{texture}'
img.file_format = 'PNG'
img.save()
mat = bpy.data.materials.new('red')
mat.use_nodes = True
nodes, links = mat.node_tree.nodes, mat.node_tree.links
tex, emit = nodes.new('ShaderNodeTexImage'), nodes.new('ShaderNodeEmission')
tex.image = img
links.new(tex.outputs['Color'], emit.inputs['Color'])
links.new(emit.outputs['Emission'], nodes['Material Output'].inputs['Surface'])
bpy.data.objects['Cube'].data.materials[0] = mat  # the factory cube's only slot
assert img.filepath == r'{texture}'  # absolute, not `//`
bpy.ops.wm.save_as_mainfile(filepath=r'{blend}', relative_remap=False)
"""


def _make(tmp_path: Path) -> tuple[Path, Path]:
    blend = tmp_path / "artist" / "project" / "shots" / "scene.blend"
    texture = tmp_path / "library" / "red.png"  # outside the project folder
    blend.parent.mkdir(parents=True)
    texture.parent.mkdir(parents=True)
    done = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                           MAKE.format(texture=texture, blend=blend)], capture_output=True, text=True, timeout=120)
    assert blend.exists() and texture.exists(), done.stdout[-2000:] + done.stderr[-2000:]
    assert str(texture).encode() in blend.read_bytes()
    return blend, texture


async def _submit_move_render(farm, tmp_path: Path, shaman: bool) -> tuple[dict, Path, Path]:  # noqa: F811
    start_manager, start_workers, _ = farm
    manager = await start_manager(shaman_enabled=shaman)
    blend, texture = _make(tmp_path)
    renders = tmp_path / "shared" / "renders"
    code, out, err = await tablao_submit(
        str(blend), "--manager", manager.url, "--json", "--name", "abs", "--set", "frames=1-1",
        "--set", f"render_output_root={renders}", home=tmp_path)
    assert code == 0, err
    assert "absolute path" not in err, err  # the path was rewritten: no warning left
    submitted = json.loads(out)
    if shaman:  # the rewritten blend file is the same bytes again: a second submission uploads nothing
        code, again, err = await tablao_submit(
            str(blend), "--manager", manager.url, "--paused", "--name", "abs again", "--set", "frames=1-1",
            "--set", f"render_output_root={renders}", home=tmp_path)
        assert code == 0 and "uploaded 0 of 2 files" in again, again + err
    texture.rename(texture.with_name("moved-away.png"))  # the workers can only read the packed copy
    workers = start_workers(1)
    assert await wait_job(manager, submitted["id"], {"completed", "failed"}, 180, workers) == "completed"
    _, job = await manager.request("GET", f"/api/v3/jobs/{submitted['id']}")
    frame = Path(job["settings"]["render_output_path"]).parent / "000001.png"
    return job, texture, frame


def _assert_red(frame: Path) -> None:
    with Image.open(frame) as image:
        r, g, b = image.convert("RGB").getpixel((16, 12))  # the middle: the cube, lit by its texture
    assert r > 200 and g < 50 and b < 50, (r, g, b)  # red; a texture not found renders magenta


def _assert_points_into_the_pack(packed: Path, texture: Path) -> None:
    data = packed.read_bytes()
    assert str(texture).encode() not in data  # the original absolute path is gone
    assert b"//../../../library/red.png" in data  # blend-relative, into the packed copy


async def test_copy_per_job_rewrites_an_absolute_texture_path(farm, tmp_path):  # noqa: F811
    job, texture, frame = await _submit_move_render(farm, tmp_path, shaman=False)
    packed = Path(job["settings"]["blendfile"])
    assert packed.is_relative_to(tmp_path / "shared" / "jobs")
    assert (packed.parents[3] / "library" / "red.png").is_file()
    _assert_points_into_the_pack(packed, texture)
    _assert_red(frame)


async def test_shaman_rewrites_an_absolute_texture_path(farm, tmp_path):  # noqa: F811
    job, texture, frame = await _submit_move_render(farm, tmp_path, shaman=True)
    checkout = job["storage"]["shaman_checkout_id"]
    assert job["settings"]["blendfile"] == f"{{jobs}}/{checkout}/artist/project/shots/scene.blend"
    packed = tmp_path / "shared" / "jobs" / checkout / "artist" / "project" / "shots" / "scene.blend"
    _assert_points_into_the_pack(packed, texture)
    _assert_red(frame)


async def test_in_place_stays_in_place_and_warns_about_a_file_off_the_shared_storage(manager, tmp_path):
    """On the shared storage the job renders the file itself; a texture elsewhere gets one clear warning."""
    blend, texture = _make(tmp_path)
    on_storage = tmp_path / "shared" / "projects" / "scene.blend"
    on_storage.parent.mkdir(parents=True)
    blend.rename(on_storage)
    before = on_storage.read_bytes()
    code, out, err = await tablao_submit(str(on_storage), "--manager", manager.url, "--json", home=tmp_path)
    assert code == 0, err
    assert json.loads(out)["settings"]["blendfile"] == str(on_storage)
    assert on_storage.read_bytes() == before  # in place: nothing rewritten
    shared = tmp_path / "shared"
    assert err.strip().splitlines() == [
        # Before the upload: the factory scene renders to /tmp, which the farm does not allow.
        f"tablao submit: warning: Output goes to {shared / 'renders'}: the scene renders to /tmp, which this "
        f"farm does not let jobs write to (set render_output_root to choose another folder under {shared})",
        f"tablao submit: warning: {texture} is not on the shared storage {shared}; "
        "workers may not be able to read it there",
    ]
