"""The add-on's "Open in Dashboard" inside a real Blender (3.4, background): it starts the configured
desktop app with the Manager URL and the followed job, and says in words when there is none."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named

pytestmark = [needs_blender, pytest.mark.slow]

URL = "http://render-server:8080/"

RECORDER = """#!{python}
import json, sys
with open({out!r}, "w") as f:
    json.dump(sys.argv[1:], f)
"""


async def test_open_dashboard_starts_the_desktop_app_with_the_job(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")  # no `tablao` there: the third step finds none
    out = tmp_path / "argv.json"
    program = tmp_path / "bin" / "tablao"
    program.parent.mkdir()
    program.write_text(RECORDER.format(python=sys.executable, out=str(out)))
    program.chmod(0o755)
    result = await run_blender(tmp_path, {
        "url": URL, "project": str(tmp_path / "project"),
        "steps": [("open_dashboard", {"program": str(program), "job_id": "job-123"}),
                  ("open_dashboard", {"program": str(tmp_path / "nowhere" / "tablao"), "job_id": "job-123"}),
                  ("open_dashboard", {"program": "", "job_id": "job-123"})],
    })
    ok, missing, not_installed = steps_named(result, "open_dashboard")
    assert ok["result"] == ["FINISHED"], ok
    deadline = time.monotonic() + 30
    while not out.exists():  # the program runs detached from Blender
        assert time.monotonic() < deadline, "the desktop app was not started"
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.2)
    assert json.loads(out.read_text()) == ["--manager", URL, "--job", "job-123"]

    assert missing["result"] == ["CANCELLED"]
    assert missing["message"].startswith("The Tablao desktop app was not found at "), missing
    assert "add-on preferences" in missing["message"]
    assert not_installed["result"] == ["CANCELLED"]
    assert "not installed here (no `tablao` on PATH)" in not_installed["message"], not_installed
    assert result["unregistered"]
