"""Running the add-on inside Debian's real Blender 3.4, against a real Manager of the test's loop."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ADDON_PKG = REPO / "addon" / "tablao_blender"
DRIVER = Path(__file__).with_name("blender_driver.py")
BLENDER = shutil.which("blender")

needs_blender = pytest.mark.skipif(BLENDER is None, reason="needs the `blender` executable")


async def run_blender(tmp_path: Path, config: dict, timeout: float = 120) -> dict:
    """Install the add-on as a legacy add-on in a private scripts folder, run the driver, parse its result.

    Awaited as a subprocess so the in-process Manager keeps serving while Blender talks to it."""
    scripts = tmp_path / "blender-scripts"
    (scripts / "addons").mkdir(parents=True, exist_ok=True)
    link = scripts / "addons" / "tablao_blender"
    if not link.exists():
        link.symlink_to(ADDON_PKG)
    cfg = tmp_path / f"driver-{len(list(tmp_path.glob('driver-*.json')))}.json"
    cfg.write_text(json.dumps(config))
    env = {**os.environ, "BLENDER_USER_SCRIPTS": str(scripts), "BLENDER_USER_CONFIG": str(tmp_path / "bcfg")}
    proc = await asyncio.create_subprocess_exec(
        BLENDER,
        "-b",
        "--factory-startup",
        "--python-exit-code",
        "1",
        "--python",
        str(DRIVER),
        "--",
        str(cfg),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = stdout.decode("utf-8", "replace")
    lines = [ln for ln in text.splitlines() if ln.startswith("TABLAO_RESULT ")]
    assert lines, f"the driver printed no result:\n{text[-4000:]}"
    result = json.loads(lines[-1][len("TABLAO_RESULT ") :])
    assert "error" not in result, result["error"] + "\n" + text[-3000:]
    result["log"] = text
    return result


def steps_named(result: dict, name: str) -> list[dict]:
    return [s for s in result["steps"] if s["step"] == name]
