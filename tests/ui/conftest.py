"""Fixtures for the desktop app's tests: offscreen Qt, a qasync loop, real Managers in subprocesses.

The Manager runs as its own process (`python -m app manager --headless`), exactly as a studio runs
it, so the dashboard under test is a real HTTP and websocket client of a real Manager.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ManagerProcess:
    """A headless Manager in a child process, on a fixed port so it can be restarted in place."""

    def __init__(self, root: Path, port: int | None = None, extra_config: str = "",
                 database: str = "manager.sqlite"):
        self.root = root
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        (root / "shared").mkdir(parents=True, exist_ok=True)
        cfg = root / "flamenco-manager.yaml"
        if not cfg.exists():
            cfg.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:{self.port}\n"
                           f"shared_storage_path: {root / 'shared'}\ndatabase: {database}\n{extra_config}")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin_token(self) -> str:
        """The token the Manager made in its config folder (what the desktop app of its computer sends)."""
        return (self.root / "tablao-admin-token").read_text().strip()

    @property
    def admin_tokens(self) -> dict[str, str]:
        """`open_dashboard`'s argument for a dashboard that administers this Manager."""
        return {self.url: self.admin_token}

    def start(self) -> ManagerProcess:
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        with open(self.root / "manager.log", "ab") as log:  # the Manager keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app", "manager", "--headless",
                 "--config", str(self.root / "flamenco-manager.yaml"), "--listen", f"127.0.0.1:{self.port}"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                self.get("/api/v3/version")
                return self
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError((self.root / "manager.log").read_text()[-2000:]) from None
                time.sleep(0.1)
        raise RuntimeError("the Manager did not start within 30 s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=10) as resp:
            body = resp.read()
            return json.loads(body) if body else None

    def send(self, method: str, path: str, body: object = None, admin: bool = False):
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if admin:
            headers["X-Tablao-Admin-Token"] = self.admin_token
        req = urllib.request.Request(self.url + path, data=data, method=method, headers=headers)
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw = resp.read()
            return json.loads(raw) if raw else None

    def submit_echo(self, name: str, repeats: int = 2, priority: int = 50) -> dict:
        return self.send("POST", "/api/v3/jobs", {
            "name": name, "type": "echo-sleep-test", "priority": priority, "submitter_platform": "linux",
            "settings": {"message": name, "sleep_duration_seconds": 0, "sleep_repeats": repeats}})


@pytest.fixture
def manager_proc(tmp_path: Path):
    proc = ManagerProcess(tmp_path / "manager").start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(autouse=True)
def _own_home(tmp_path: Path, monkeypatch):
    """Config, remembered tokens and the local admin token of these tests stay in a temp folder."""
    monkeypatch.setenv("TABLAO_HOME", str(tmp_path / "home"))


@pytest.fixture
def qloop(qapp, tmp_path: Path):
    """A qasync loop on the session's QApplication; QSettings go to a temp folder."""
    from PySide6.QtCore import QSettings

    from app.ui.launch import finish_pending, make_loop, own_windows

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(tmp_path / "qsettings"))
    qapp.setOrganizationName("TablaoTest")
    qapp.setQuitOnLastWindowClosed(False)  # as the app itself: closing a window must not stop the loop
    from app.ui.gc_guard import GuiThreadCollector

    loop = make_loop(qapp)  # as the app's: blocking work on plain Python threads, not QThreads
    asyncio.set_event_loop(loop)
    collector = GuiThreadCollector()  # as the app: garbage cycles are freed on this thread only
    try:
        yield loop
    finally:
        # Nothing of this test may outlive it: windows, their timers and queued deletions go now,
        # while the loop that their callbacks would use still exists.
        finish_pending(loop)  # fetches still running unwind now, on this thread
        for widget in own_windows(qapp):
            widget.close()
            widget.deleteLater()
        qapp.processEvents()
        qapp.sendPostedEvents(None, 0)
        finish_pending(loop)  # and whatever the closing started (a debounce timer's check)
        loop.close()
        asyncio.set_event_loop(None)
        # Last, as the app does: what only the loop still held is garbage now, and is collected
        # here, on the GUI thread, not later by whichever thread of another test allocates.
        collector.stop()


async def wait_for(predicate, timeout: float = 15.0, message: str = "condition") -> None:
    """Poll `predicate` on the running loop (which also runs Qt) until it is true."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        await asyncio.sleep(0.05)
