"""The extension zip in a real Blender 4.2 (the `bpy` 4.2.0 module from PyPI): it installs from disk with
its BAT wheel, enables, finds a real Manager advertised on loopback, checks the connection, fetches
job types and disables cleanly.

Opt-in (the module is a 500 MB download and 1.6 GB installed, too much for every CI run): it runs when
`$TABLAO_BPY42_PYTHON`, or `~/.cache/tablao/bpy-4.2.0/bin/python`, is a Python with `bpy` 4.2:
    python3.11 -m venv ~/.cache/tablao/bpy-4.2.0 && ~/.cache/tablao/bpy-4.2.0/bin/pip install bpy==4.2.0
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from addon import build
from app.manager.lan.discovery import SsdpAdvertiser

DRIVER = Path(__file__).with_name("bpy42_driver.py")
PYTHON = Path(os.environ.get("TABLAO_BPY42_PYTHON") or Path.home() / ".cache/tablao/bpy-4.2.0/bin/python")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not PYTHON.exists(), reason=f"no Python with bpy 4.2 at {PYTHON} (see docstring)")]


async def test_the_extension_installs_and_works_in_blender_4_2(manager, tmp_path: Path) -> None:
    extension, _ = build.build(tmp_path / "dist")
    advertiser = SsdpAdvertiser(lambda: manager.service.port, bind=("127.0.0.1", 0), multicast=False)
    task = asyncio.create_task(advertiser.run())
    try:
        while advertiser.address is None:
            await asyncio.sleep(0.01)
        cfg = tmp_path / "bpy42.json"
        cfg.write_text(json.dumps({"zip": str(extension), "targets": f"127.0.0.1:{advertiser.address[1]}"}))
        env = {**os.environ, "HOME": str(tmp_path / "home")}  # Blender's user folders: a fresh, private set
        proc = await asyncio.create_subprocess_exec(str(PYTHON), str(DRIVER), str(cfg), env=env,
                                                    stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.STDOUT)
        stdout, _ = await asyncio.wait_for(proc.communicate(), 240)
    finally:
        task.cancel()
    text = stdout.decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.startswith("TABLAO_RESULT ")]
    assert lines, text[-4000:]
    result = json.loads(lines[-1].removeprefix("TABLAO_RESULT "))
    assert "error" not in result, result["error"] + text[-3000:]
    assert result["version"].startswith("4.2")
    assert result["install"] == ["FINISHED"] and result["enabled"]
    assert "/extensions/" in result["bat"]  # Blender installed the bundled BAT wheel
    assert result["message"].startswith("Found ") and result["url"] == manager.url + "/"
    assert "storage for this file" in result["connection"], result["connection"]
    assert "simple-blender-render" in result["job_types"]
    assert result["unregistered"]
