"""The interactive submit: Blender's GUI under Xvfb runs the modal operator (thread + timer + status bar)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.addon.conftest import BLENDER, needs_blender, run_blender
from tests.xvfb import private_display

pytestmark = [
    pytest.mark.slow,
    needs_blender,
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="needs Xvfb"),
]

GUI_DRIVER = Path(__file__).with_name("blender_gui_driver.py")


@pytest.fixture
def display():
    with private_display("1280x800x24") as name:
        yield name


async def test_modal_submit_in_the_gui(manager_factory, tmp_path: Path, display: str) -> None:
    manager = await manager_factory(shaman_enabled=True)
    project = tmp_path / "work" / "film"
    await run_blender(
        tmp_path, {"url": manager.url, "project": str(project), "steps": []}
    )  # makes shot.blend
    out = tmp_path / "gui-result.json"
    cfg = tmp_path / "gui.json"
    cfg.write_text(
        json.dumps({"url": manager.url, "out": str(out), "render": str(tmp_path / "shared" / "r")})
    )
    env = {
        **os.environ,
        "DISPLAY": display,
        "BLENDER_USER_SCRIPTS": str(tmp_path / "blender-scripts"),
        "BLENDER_USER_CONFIG": str(tmp_path / "bcfg"),
    }
    proc = await asyncio.create_subprocess_exec(
        BLENDER,
        "--factory-startup",
        str(project / "shot.blend"),
        "--python",
        str(GUI_DRIVER),
        "--",
        str(cfg),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), 120)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert out.exists(), stdout.decode(errors="replace")[-3000:]
    result = json.loads(out.read_text())
    assert "error" not in result, result["error"]
    assert result["invoke"] == ["RUNNING_MODAL"]
    assert not result["running"] and result["message"].startswith("Job 'shot modal' submitted (shaman"), (
        result
    )
    assert {"checking", "packing", "hashing", "uploading", "submitting", "done"} <= set(result["progress"])
    status, job = await manager.request("GET", f"/api/v3/jobs/{result['job_id']}")
    assert status == 200 and job["name"] == "shot modal"
