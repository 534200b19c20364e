"""A one-frame test render: a small scene made on the spot by Blender, and the job that renders it.

The setup wizard ends with this, so a new farm proves itself with a picture instead of a promise.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

MAKE_SCENE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 4
scene.cycles.use_denoising = False
scene.render.resolution_x = 320
scene.render.resolution_y = 180
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = 1
scene.render.image_settings.file_format = 'PNG'
bpy.ops.wm.save_as_mainfile(filepath={path!r})
"""


async def make_test_scene(blender: str, path: Path, timeout_s: float = 120.0) -> Path:
    """Save a tiny Cycles scene (the default cube) at `path`; raise RuntimeError with Blender's words."""
    path.parent.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        blender, "-b", "--factory-startup", "--python-expr", MAKE_SCENE.format(path=str(path)),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async with asyncio.timeout(timeout_s):
            out, _ = await proc.communicate()
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise RuntimeError(f"Blender did not save the test scene within {timeout_s:.0f} s") from None
    if proc.returncode != 0 or not path.exists():
        tail = out.decode(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError("Blender could not make the test scene: " + (" / ".join(tail) or f"exit {proc.returncode}"))
    return path


def make_test_render_job(blend: Path, out_dir: Path, platform: str) -> dict[str, Any]:
    """A `simple-blender-render` submission of frame 1 of `blend`, writing under `out_dir`."""
    return {
        "name": "Tablao test render", "type": "simple-blender-render", "priority": 90,
        "submitter_platform": platform, "metadata": {"tablao.test_render": "true"},
        "settings": {
            "frames": "1", "chunk_size": 1, "render_output_root": str(out_dir), "add_path_components": 0,
            "render_output_path": str(out_dir / "test-render" / "######"), "blendfile": str(blend),
            "fps": 24.0, "format": "PNG", "image_file_extension": ".png", "has_previews": False,
            "scene": "Scene",
        },
    }
