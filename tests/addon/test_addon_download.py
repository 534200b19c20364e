"""The add-on as a Manager hands it out installs and enables in Debian's Blender 3.4 with that Manager's
address already in its preferences, and the served extension passes Blender 4.2's validator."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from addon import blender_validator
from tests.addon.conftest import BLENDER, needs_blender

DRIVER = Path(__file__).with_name("install_driver.py")


async def _download(manager, path: str, dest: Path) -> Path:
    async with manager.session.get(path) as resp:
        assert resp.status == 200, await resp.text()
        dest.write_bytes(await resp.read())
    return dest


@pytest.mark.slow
@needs_blender
async def test_the_downloaded_addon_installs_in_blender_with_the_managers_address(manager, tmp_path: Path):
    zip_path = await _download(manager, "/tablao-addon.zip", tmp_path / "tablao-addon.zip")
    cfg = tmp_path / "install.json"
    cfg.write_text(json.dumps({"zip": str(zip_path)}))
    scripts = tmp_path / "blender-scripts"
    env = {**os.environ, "BLENDER_USER_SCRIPTS": str(scripts), "BLENDER_USER_CONFIG": str(tmp_path / "bcfg")}
    proc = await asyncio.create_subprocess_exec(
        BLENDER, "-b", "--factory-startup", "--python-exit-code", "1", "--python", str(DRIVER), "--", str(cfg),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=env)
    stdout, _ = await asyncio.wait_for(proc.communicate(), 120)
    text = stdout.decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.startswith("TABLAO_RESULT ")]
    assert lines, text[-4000:]
    result = json.loads(lines[-1].removeprefix("TABLAO_RESULT "))
    assert "error" not in result, result["error"] + text[-2000:]
    assert result["install"] == ["FINISHED"]
    assert result["installed_at"].startswith(str(scripts))  # the zip's copy, not the repository's
    assert result["enabled"]
    assert result["manager_url"] == f"{manager.url}/"
    assert result["ok"], result["check"]


@pytest.mark.skipif(not blender_validator.available() and not os.environ.get("CI"),
                    reason="Blender 4.2's validator is not fetched: python -m addon.blender_validator fetch")
async def test_the_served_extension_passes_blenders_validator(manager, tmp_path: Path):
    extension = await _download(manager, "/tablao-extension.zip", tmp_path / "tablao-extension.zip")
    done = await asyncio.to_thread(blender_validator.validate, extension)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
