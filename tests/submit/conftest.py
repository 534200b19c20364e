"""Fixtures for submission tests: small .blend files made by Debian's Blender, one with an external
texture, one with scripts and Python drivers."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

MAKE_TEXTURED = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x = 32
scene.render.resolution_y = 24
scene.render.resolution_percentage = 100
scene.frame_start = {start}
scene.frame_end = {end}
scene.render.fps = 25
scene.render.image_settings.file_format = 'PNG'
scene.render.filepath = r'{output}'
img = bpy.data.images.new('wood', 4, 4)
img.filepath_raw = r'{texture}'
img.file_format = 'PNG'
img.save()
mat = bpy.data.materials.new('wood')
mat.use_nodes = True
node = mat.node_tree.nodes.new('ShaderNodeTexImage')
node.image = img
bpy.data.objects['Cube'].data.materials.append(mat)
bpy.ops.wm.save_as_mainfile(filepath=r'{path}', relative_remap=True)
"""


def make_textured_blend(path: Path, texture: Path, output: str, start: int = 1, end: int = 4) -> Path:
    """A Cycles scene with a cube whose material uses `texture` (an external PNG, saved `//`-relative)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    texture.parent.mkdir(parents=True, exist_ok=True)
    script = MAKE_TEXTURED.format(path=path, texture=texture, output=output, start=start, end=end)
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=120)
    assert path.exists() and texture.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return path


MAKE_SCRIPTED = """
import bpy
scene = bpy.context.scene
scene.render.filepath = r'{output}'
cube = bpy.data.objects['Cube']
text = bpy.data.texts.new('rig_ui.py')
text.write('print("rig ui")')
text.use_module = True
bpy.data.texts.new('notes.txt').write('not registered')

def driver(owner, path, expression, index=-1, kind='SCRIPTED'):
    fcurve = owner.driver_add(path, index) if index >= 0 else owner.driver_add(path)
    fcurve.driver.type = kind
    if kind == 'SCRIPTED':
        fcurve.driver.expression = expression
    return fcurve

driver(cube, 'location', '__import__("os").getpid() % 2', 0)   # Python
driver(cube, 'location', 'frame * 2', 1)                        # simple: no Python
driver(cube, 'location', '', 2, kind='AVERAGE')                 # not scripted
mat = bpy.data.materials.new('skin')
mat.use_nodes = True
cube.data.materials.append(mat)
driver(mat.node_tree.nodes['Principled BSDF'].inputs['Roughness'], 'default_value', 'len("ab") / 4')
world = scene.world
world.use_nodes = True
driver(world.node_tree.nodes['Background'].inputs['Strength'], 'default_value', 'float(len("x"))')
cube.shape_key_add(name='Basis')
smile = cube.shape_key_add(name='smile')
driver(smile, 'value', 'sin(frame) ** 2')
for i in range({extra}):
    driver(cube, 'scale', 'bpy.context.scene.frame_current * 0', i)
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


def make_scripted_blend(path: Path, output: str = "//render/", extra: int = 0) -> Path:
    """A scene with a text block registered to run on load and four Python drivers (an object, a
    material's and the world's node trees, a shape key), plus drivers that need no Python, and
    `extra` more Python drivers; it renders to `output`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    script = MAKE_SCRIPTED.format(path=path, output=output, extra=extra)
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=120)
    assert path.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return path


needs_blender = pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender")


@pytest.fixture(scope="session")
def textured_template(tmp_path_factory) -> tuple[Path, Path]:
    """One textured project made per session (Blender is slow to start); tests copy it."""
    root = tmp_path_factory.mktemp("template")
    blend = make_textured_blend(root / "project" / "shots" / "scene.blend", root / "project" / "tex" / "wood.png",
                                "//render/")
    return root / "project", blend


@pytest.fixture
def project(textured_template, tmp_path) -> Path:
    """A fresh copy of the textured project under `tmp_path/artist` (outside the shared storage)."""
    src, _ = textured_template
    dst = tmp_path / "artist" / "project"
    shutil.copytree(src, dst)
    return dst
