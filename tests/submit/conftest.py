"""Fixtures for submission tests: a small .blend with an external texture, made by Debian's Blender."""

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
