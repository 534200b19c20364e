"""The hub in the desktop app: Mode ▸ Hub starts a hub in the program (HUB.yaml in Tablao's config
folder) with the dashboard pointed at it, and unticked stops it; `tablao hub --config HUB.yaml`
without --headless is the desktop app running that hub, its dashboard watching it."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.common.ports import port_is_free
from app.ui.connection import CONNECTED
from app.ui.desktop import DesktopApp
from app.ui.local_hub import LocalHub, default_hub_config
from app.ui.local_services import LocalServices
from tests.e2e.farm import free_port
from tests.hub.hub_process import ROOT, write_hub_config
from tests.ui.conftest import wait_for
from tests.ui.test_modes import _desktop


def _hub_answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v3/tablao/hub/sites", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.mark.slow  # a desktop app with its Manager, then a hub: seconds
def test_mode_hub_starts_a_hub_here_with_the_dashboard_on_it_and_stops_it(qloop, tmp_path):
    desktop = _desktop(tmp_path)
    port = free_port()
    write_hub_config(default_hub_config().parent, port)  # the desktop's HUB.yaml, on a free 127.0.0.1 port

    async def body():
        running = asyncio.ensure_future(desktop.run())
        try:
            await wait_for(lambda: (desktop.roles_started and desktop.window is not None) or running.done(), 60,
                           "the app")
            menu = desktop.window.mode_menu
            assert not menu.run_hub.isChecked() and menu.run_hub.isEnabled()
            menu.run_hub.trigger()
            await wait_for(lambda: desktop.modes.hub, 30, "the hub started here")
            assert menu.run_hub.isChecked()
            url = f"http://127.0.0.1:{port}"
            assert await asyncio.to_thread(_hub_answers, port)
            conn = desktop.dashboard.connections[url]
            await wait_for(lambda: conn.state == CONNECTED, 30, "the dashboard following the hub")
            assert conn.client.transport.admin_token == desktop.hub.admin_token != ""
            menu.run_hub.trigger()  # untick: the hub stops, the dashboard no longer watches it
            await wait_for(lambda: not desktop.modes.hub, 30, "the hub stopped")
            assert url not in desktop.dashboard.connections and not menu.run_hub.isChecked()
            assert await asyncio.to_thread(port_is_free, "127.0.0.1", port)
        finally:
            desktop.quit.set()
            await asyncio.wait_for(running, 60)

    qloop.run_until_complete(body())


def test_the_desktop_hub_role_watches_its_hub(qloop, tmp_path):
    port = free_port()
    config = write_hub_config(tmp_path / "hub", port)
    desktop = DesktopApp(LocalServices(), None, watch=[], has_tray=False, hub=LocalHub(config))

    async def body():
        running = asyncio.ensure_future(desktop.run())
        try:
            await wait_for(lambda: desktop.modes.hub or running.done(), 30, "the hub started")
            url = f"http://127.0.0.1:{port}"
            assert list(desktop.dashboard.connections) == [url]
            assert desktop.window.mode_menu.run_hub.isChecked()
        finally:
            desktop.quit.set()
            await asyncio.wait_for(running, 60)
        assert await asyncio.to_thread(port_is_free, "127.0.0.1", port), "the hub stopped with the program"

    qloop.run_until_complete(body())


def test_a_hub_that_cannot_start_here_says_why_and_stays_unticked(qloop, tmp_path):
    held = socket.socket()  # another program on the hub's port
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    write_hub_config(default_hub_config().parent, port)
    desktop = DesktopApp(LocalServices(), None, watch=[], has_tray=False)

    async def body():
        running = asyncio.ensure_future(desktop.run())
        try:
            await wait_for(lambda: desktop.window is not None, 30, "the dashboard")
            desktop.window.mode_menu.run_hub.trigger()
            await wait_for(lambda: any(w.objectName() == "errorDialog" and w.isVisible()
                                       for w in QApplication.topLevelWidgets()), 30, "the reason shown")
            box = next(w for w in QApplication.topLevelWidgets() if w.objectName() == "errorDialog" and w.isVisible())
            assert str(port) in box.text(), box.text()
            box.close()
            assert not desktop.modes.hub and not desktop.window.mode_menu.run_hub.isChecked() and desktop.hub is None
        finally:
            desktop.quit.set()
            await asyncio.wait_for(running, 60)
            held.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a desktop program in a subprocess: seconds
def test_tablao_hub_without_headless_runs_the_hub_in_the_desktop_app(tmp_path: Path):
    port = free_port()
    config = write_hub_config(tmp_path / "hub", port)
    env = dict(os.environ, PYTHONPATH=str(ROOT), TABLAO_HOME=str(tmp_path / "home"), QT_QPA_PLATFORM="offscreen")
    with open(tmp_path / "desktop.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "app", "hub", "--config", str(config)], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _hub_answers(port):
            assert proc.poll() is None, (tmp_path / "desktop.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the hub did not answer"
            time.sleep(0.2)
    finally:
        proc.terminate()
        proc.wait(30)
    assert "runs headless only" not in (tmp_path / "desktop.log").read_text()
