"""Reading the Python a .blend carries, and the farm's output folder, in Debian's real Blender.

The file is made at test time: a text block registered to run on load, Python drivers on an
object, a material's node tree, a world and a mesh's shape keys, and drivers Blender evaluates
without Python (a simple expression, an averaged variable) that must not be counted.
"""

from __future__ import annotations

import subprocess

import pytest

from app.submit import read_blend
from app.submit.blendinfo import SceneScripts
from app.submit.scene_policy import LISTED, scripts_warning
from tests.submit.conftest import make_scripted_blend, needs_blender

pytestmark = pytest.mark.slow


@needs_blender
async def test_auto_run_scripts_and_python_drivers_are_found_and_simple_ones_are_not(tmp_path):
    blend = make_scripted_blend(tmp_path / "rig.blend")
    info = await read_blend(blend)
    scripts = info.scripts
    assert scripts.auto_run == 1 and scripts.auto_run_names == ("rig_ui.py",)
    assert scripts.drivers == 4, scripts  # object, material node tree, world node tree, shape key
    names = " | ".join(scripts.driver_names)
    assert "Object “Cube”: location" in names and "location[1]" not in names and "location[2]" not in names
    assert "Material “skin” nodes: nodes[\"Principled BSDF\"]" in names and "World “World” nodes" in names
    assert "Mesh “Cube” shape keys: key_blocks[\"smile\"].value" in names
    warning = scripts_warning(scripts.to_json(), "scripts are off here")
    assert warning.startswith("The scene has 1 script(s) that run when the file opens (rig_ui.py) and "
                              "4 Python driver(s)")
    assert warning.endswith("they will not run on the farm: scripts are off here")


@needs_blender
async def test_many_drivers_are_counted_and_only_a_few_named(tmp_path):
    blend = make_scripted_blend(tmp_path / "many.blend", extra=3)
    info = await read_blend(blend)
    assert info.scripts.drivers == 7 and len(info.scripts.driver_names) == LISTED
    assert "and 2 more" in scripts_warning(info.scripts.to_json(), "off")


@needs_blender
async def test_a_plain_scene_has_no_scripts(tmp_path):
    blend = tmp_path / "plain.blend"
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    f"import bpy; bpy.ops.wm.save_as_mainfile(filepath=r'{blend}')"],
                   capture_output=True, timeout=120, check=True)
    info = await read_blend(blend)
    assert not info.scripts and info.scripts == SceneScripts()
    assert scripts_warning(info.scripts.to_json(), "off") == ""


@needs_blender
@pytest.mark.parametrize("inside", [False, True])
async def test_an_output_folder_outside_the_roots_becomes_the_farms(tmp_path, inside):
    shared = tmp_path / "shared"
    output = str(shared / "shot" / "frames") + "/" if inside else "//render/"
    blend = make_scripted_blend(tmp_path / "artist" / "rig.blend", output=output)
    settings = [{"key": "render_output_path", "type": "string",
                 "eval": "str(Path(abspath(settings.render_output_root), 'x', '######'))"}]
    info = await read_blend(blend, settings=settings, scene_defaults={"render_output_root": "output_dir"},
                            output_roots=[str(shared)], output_denied=[str(shared / "file-store")],
                            confined=["render_output_root"])
    if inside:
        assert info.implied["render_output_root"] == str(shared / "shot" / "frames")
        assert info.redirected == {}
    else:
        assert info.implied["render_output_root"] == str(shared / "renders")
        assert info.redirected == {"render_output_root": str(tmp_path / "artist" / "render")}
        assert info.evaluated["render_output_path"] == str(shared / "renders" / "x" / "######")


@needs_blender
async def test_without_roots_or_with_the_users_own_folder_nothing_moves(tmp_path):
    blend = make_scripted_blend(tmp_path / "artist" / "rig.blend")
    info = await read_blend(blend, scene_defaults={"render_output_root": "output_dir"},
                            confined=["render_output_root"])  # a Flamenco Manager: no roots
    assert info.implied["render_output_root"] == str(tmp_path / "artist" / "render") and not info.redirected
    info = await read_blend(blend, values={"render_output_root": "/elsewhere"},
                            output_roots=[str(tmp_path / "s")], confined=["render_output_root"])
    assert "render_output_root" not in info.implied and not info.redirected
