"""A busy port when the desktop app starts its Manager (later launches) is a question, not a crash:
use the next free port (saved for next time), or quit. The first launch's wizard and the headless
Manager have their own tests (first_launch_scenarios.py, tests/test_cli.py)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.common.roles import RoleConfig
from app.manager.settings.config import load_config
from app.ui.desktop import DesktopApp
from app.ui.local_services import LocalServices
from tests.ui.conftest import wait_for


def _question():
    return next((w for w in QApplication.topLevelWidgets()
                 if w.objectName() == "portBusyQuestion" and w.isVisible()), None)


def _desktop(tmp_path: Path, port: int) -> DesktopApp:
    cfg = tmp_path / "m" / "flamenco-manager.yaml"
    cfg.parent.mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    cfg.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:{port}\n"
                   f"shared_storage_path: {tmp_path / 'shared'}\n")
    return DesktopApp(LocalServices(manager_config_path=cfg), RoleConfig(role="manager"), has_tray=False)


def _held() -> socket.socket:
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    return held


def test_the_next_free_port_is_offered_and_kept(qloop, tmp_path):
    held = _held()
    busy = held.getsockname()[1]
    desktop = _desktop(tmp_path, busy)

    async def body():
        running = asyncio.ensure_future(desktop.run())
        await wait_for(lambda: _question() is not None or running.done(), 60, "the question")
        assert not running.done(), running
        question = _question()
        assert f"port {busy} is in use by" in question.text() and f"pid {os.getpid()}" in question.text()
        proposed = question.proposed
        assert proposed and proposed > busy and f"Use port {proposed}" == question.use.text()
        question.use.click()
        await wait_for(lambda: desktop.window is not None, 60, "the dashboard")
        assert desktop.services.manager_runner.manager.port == proposed
        saved = load_config(desktop.services.manager_config_path)
        assert saved.listen == f"127.0.0.1:{proposed}", "next time too"
        desktop.window.quit_action.trigger()
        assert await asyncio.wait_for(running, 30) == 0

    try:
        qloop.run_until_complete(body())
    finally:
        held.close()


def test_quit_leaves_everything_as_it_was(qloop, tmp_path):
    held = _held()
    busy = held.getsockname()[1]
    desktop = _desktop(tmp_path, busy)

    async def body():
        running = asyncio.ensure_future(desktop.run())
        await wait_for(lambda: _question() is not None, 60, "the question")
        _question().quit.click()
        assert await asyncio.wait_for(running, 30) == 0
        assert desktop.window is None and not desktop.services.manager_running
        assert load_config(desktop.services.manager_config_path).listen == f"127.0.0.1:{busy}"

    try:
        qloop.run_until_complete(body())
    finally:
        held.close()
