"""What the probe reads of a scene's needs from .blend files Debian's Blender 3.4 saves, and what
`tablao submit` then sends and says."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.api.requirements import JobRequirements
from app.submit.blendinfo import read_blend
from app.submit.requirements import needs_words, requirements_of
from tests.submit.conftest import needs_blender
from tests.submit.test_submit_cli import tablao_submit

pytestmark = [needs_blender, pytest.mark.slow]

MAKE = """
import bpy
scene = bpy.context.scene
scene.render.engine = {engine!r}
scene.cycles.device = {device!r}
scene.cycles.samples = 7
scene.eevee.taa_render_samples = 9
scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 640, 360, 50
scene.render.filepath = '//render/'
{extra}
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


def _blend(path: Path, engine: str = "CYCLES", device: str = "GPU", extra: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    script = MAKE.format(engine=engine, device=device, extra=extra, path=path)
    result = subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script],
                            capture_output=True, text=True, timeout=120)
    assert path.exists(), result.stdout[-2000:] + result.stderr[-2000:]
    return path


def _saved_with() -> str:
    out = subprocess.run(["blender", "--version"], capture_output=True, text=True, timeout=60).stdout
    return ".".join(out.split()[1].split(".")[:2])


async def test_the_probe_reads_a_gpu_scene(tmp_path: Path) -> None:
    info = await read_blend(_blend(tmp_path / "gpu.blend"))
    version = _saved_with()
    # The backend is a preference of the Blender that reads the file, not part of it: the probe's factory
    # settings choose none, so any GPU will do; no peak memory was recorded, so none is sent.
    assert info.needs == {"engine": "CYCLES", "device": "GPU", "samples": 7, "resolution_x": 640,
                          "resolution_y": 360, "resolution_percentage": 50, "blender_version": version}
    requirements = requirements_of(info.needs)
    assert requirements == JobRequirements(engine="CYCLES", device="GPU", blender_version=version, samples=7,
                                           resolution_x=640, resolution_y=360, resolution_percentage=50)
    assert needs_words(requirements) == f"Cycles on a GPU, Blender {version} or newer"
    assert requirements_of(info.needs, None, tablao=False) is None  # a Flamenco Manager gets none


async def test_an_eevee_scene_with_a_recorded_peak(tmp_path: Path) -> None:
    blend = _blend(tmp_path / "eevee.blend", engine="BLENDER_EEVEE",
                   extra="scene['tablao_render_peak_memory'] = float(5 * 1024**3)")
    info = await read_blend(blend)
    assert info.needs["engine"] == "BLENDER_EEVEE" and info.needs["samples"] == 9
    assert "device" not in info.needs
    assert info.needs["memory_peak"] == 5 * 1024**3
    assert needs_words(requirements_of(info.needs)) == f"Eevee, Blender {_saved_with()} or newer, 5.0 GiB of memory"


async def test_tablao_submit_says_what_the_job_needs(manager, tmp_path: Path) -> None:
    blend = _blend(tmp_path / "artist" / "gpu.blend")
    code, out, err = await tablao_submit(str(blend), "--manager", manager.url, "--paused", home=tmp_path)
    assert code == 0, err
    assert f"needs: Cycles on a GPU, Blender {_saved_with()} or newer\n" in out
    _, jobs = await manager.request("GET", "/api/v3/jobs")
    [job] = jobs["jobs"]
    _, answer = await manager.request("GET", f"/api/v3/tablao/jobs/{job['id']}/requirements")
    assert answer["requirements"]["device"] == "GPU" and answer["unmet"] == []  # no worker connected yet
