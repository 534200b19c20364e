"""`rewrite_absolute_paths` on a .blend made by Debian's Blender: absolute paths to files under the pack
root become `//`-relative in the copy; others, and the original file, stay as they are."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from app.packer.rewrite import rewrite_absolute_paths

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender"),
]

MAKE = """
import bpy
for name, path in (('inside', r'{inside}'), ('elsewhere', r'{elsewhere}')):
    img = bpy.data.images.new(name, 2, 2)
    img.filepath_raw = path
    img.file_format = 'PNG'
    img.save()
    img.use_fake_user = True
bpy.ops.wm.save_as_mainfile(filepath=r'{blend}', relative_remap=False)
"""


def _image_paths(blend: Path) -> dict[str, str]:
    from blender_asset_tracer import blendfile, trace

    try:
        return {u.block.id_name.decode()[2:]: bytes(u.asset_path).decode() for u in trace.deps(blend)}
    finally:
        blendfile.close_all_cached()


def test_absolute_paths_under_the_root_become_relative(tmp_path: Path) -> None:
    root = tmp_path / "root"
    blend, inside = root / "project" / "shots" / "a.blend", root / "library" / "inside.png"
    elsewhere = tmp_path / "elsewhere.png"
    blend.parent.mkdir(parents=True)
    inside.parent.mkdir(parents=True)
    script = MAKE.format(inside=inside, elsewhere=elsewhere, blend=blend)
    done = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                          capture_output=True, text=True, timeout=120)
    assert blend.exists(), done.stdout[-2000:]
    original = blend.read_bytes()
    assert _image_paths(blend) == {"inside": str(inside), "elsewhere": str(elsewhere)}

    dest = tmp_path / "packed.blend"
    changes = rewrite_absolute_paths(blend, root, dest)

    assert [(c.before, c.after, c.target) for c in changes] == [
        (str(inside), "//../../library/inside.png", inside)]
    assert _image_paths(dest) == {"inside": "//../../library/inside.png", "elsewhere": str(elsewhere)}
    assert blend.read_bytes() == original  # the artist's file is untouched


def test_nothing_to_rewrite_writes_nothing(tmp_path: Path) -> None:
    blend = tmp_path / "p" / "a.blend"
    blend.parent.mkdir()
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    f"import bpy; bpy.ops.wm.save_as_mainfile(filepath=r'{blend}')"],
                   capture_output=True, timeout=120, check=True)
    assert rewrite_absolute_paths(blend, tmp_path, tmp_path / "out.blend") == []
    assert not (tmp_path / "out.blend").exists()
