"""The tray icon in a real tray host: Xvfb plus Debian's `trayer` (a subprocess, as Qt's xcb platform).

Without a host, Qt says there is no system tray (the window then holds the controls); with trayer
running as a panel at the bottom of the screen, the tray is available and our icon is embedded there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.xvfb import private_display

ROOT = Path(__file__).resolve().parents[2]
SCREEN_H, PANEL_H = 600, 30

pytestmark = [
    pytest.mark.skipif(shutil.which("trayer") is None, reason="Debian's trayer (the tray host) is not installed; "
                       ".ci/run installs it: apt-get install trayer"),
    pytest.mark.skipif(shutil.which("Xvfb") is None, reason="Xvfb is not installed"),
]


@pytest.fixture
def display():
    with private_display(f"800x{SCREEN_H}x24") as name:
        yield name


def _probe(display: str, tmp_path: Path) -> dict:
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", PYTHONPATH=str(ROOT),
               TABLAO_HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    out = subprocess.run([sys.executable, "-m", "tests.ui.tray_host_probe"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow  # an X server and a tray host
def test_the_icon_is_embedded_in_a_tray_host(display, tmp_path):
    assert _probe(display, tmp_path)["available"] is False   # a bare X server: no tray

    trayer = subprocess.Popen(["trayer", "--edge", "bottom", "--align", "right", "--widthtype", "pixel",
                               "--width", "120", "--height", str(PANEL_H), "--SetDockType", "true"],
                              env=dict(os.environ, DISPLAY=display), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while not (probe := _probe(display, tmp_path))["available"]:
            assert time.monotonic() < deadline and trayer.poll() is None, "trayer did not become the tray"
        assert probe["embedded"], probe
        x, y, w, h = probe["geometry"]
        assert y >= SCREEN_H - PANEL_H and w > 0 and h > 0, probe   # inside trayer's panel
        assert probe["tooltip"].startswith("Tablao worker: ")
    finally:
        trayer.terminate()
        trayer.wait(10)
