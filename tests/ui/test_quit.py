"""Quit: it asks only when stopping would interrupt the farm, and each answer does what it says.

The desktop app runs in this process with its local Manager (on 127.0.0.1); another computer's
worker is a real `tablao worker --headless` process; echo-sleep jobs keep tasks running for
seconds. The exit path itself runs 20 times in a row as a real program (tests/ui/quit_probe.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
import sys
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.common.roles import RoleConfig
from app.ui.desktop import DesktopApp
from app.ui.local_services import LocalServices
from app.ui.quitting import AFTER_TASKS, KEEP, NOW, QUIT_SHORTCUT
from tests.e2e.farm import WorkerProcess
from tests.ui.conftest import ROOT, wait_for


def _desktop(tmp_path: Path) -> DesktopApp:
    cfg = tmp_path / "m" / "flamenco-manager.yaml"
    cfg.parent.mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    cfg.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: {tmp_path / 'shared'}\n")
    services = LocalServices(manager_config_path=cfg, listen="127.0.0.1:0")
    return DesktopApp(services, RoleConfig(role="manager"), has_tray=True)


async def _started(desktop: DesktopApp) -> asyncio.Future:
    running = asyncio.ensure_future(desktop.run())
    await wait_for(lambda: (desktop.roles_started and desktop.window is not None) or running.done(), 60,
                   "the app")
    assert not running.done(), running
    return running


async def _http(url: str, method: str = "GET", body: dict | None = None):
    """A request from outside (a thread: the Manager answers on this test's own loop)."""
    return await asyncio.to_thread(_request, url, method, body)


def _request(url: str, method: str, body: dict | None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        raw = resp.read()
        return json.loads(raw) if raw else None


async def _tasks(url: str, job_id: str) -> dict[str, str]:
    return {t["id"]: t["status"] for t in (await _http(f"{url}/api/v3/jobs/{job_id}/tasks"))["tasks"]}


def _stored_tasks(tmp_path: Path, job_id: str) -> dict[str, str]:
    """The task statuses in the stopped Manager's SQLite file."""
    with closing(sqlite3.connect(tmp_path / "m" / "tablao-manager.sqlite")) as db:
        rows = db.execute("SELECT t.uuid, t.status FROM tasks t JOIN jobs j ON t.job_id = j.id WHERE j.uuid = ?",
                          (job_id,)).fetchall()
    assert rows, "the job's tasks are in the database"
    return dict(rows)


def _asking(desktop: DesktopApp) -> bool:
    return desktop.question is not None and desktop.question.isVisible()


async def _busy_farm(desktop: DesktopApp, tmp_path: Path,
                     started: list[WorkerProcess]) -> tuple[WorkerProcess, str]:
    """Another computer renders: a worker process on a job of 3-second tasks, one of them running.
    The worker goes into `started` at once, so the test stops it whatever happens here."""
    url = desktop.services.manager_url
    worker = WorkerProcess(url, tmp_path, "render-pc").start()
    started.append(worker)
    job = await _http(f"{url}/api/v3/jobs", "POST", {
        "name": "long", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "hi", "sleep_duration_seconds": 3, "sleep_repeats": 4}})
    for _ in range(600):
        if "active" in (await _tasks(url, job["id"])).values():
            return worker, job["id"]
        await asyncio.sleep(0.1)
    raise AssertionError("no task ran on render-pc:\n" + worker.output()[-2000:])


def test_with_nothing_going_on_quit_and_ctrl_q_stop_at_once(qloop, tmp_path):
    desktop = _desktop(tmp_path)

    async def body():
        running = await _started(desktop)
        window = desktop.window
        assert window.quit_action.shortcut() == QUIT_SHORTCUT and QUIT_SHORTCUT.toString() == "Ctrl+Q"
        window.activateWindow()
        await asyncio.sleep(0.2)
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert await asyncio.wait_for(running, 30) == 0
        assert desktop.question is None and not desktop.services.manager_running

    qloop.run_until_complete(body())


@pytest.mark.slow  # worker processes render
def test_quit_asks_while_another_computer_renders_and_cancel_and_keep_running_stop_nothing(qloop, tmp_path):
    desktop = _desktop(tmp_path)
    workers: list[WorkerProcess] = []

    async def body():
        running = await _started(desktop)
        url = desktop.services.manager_url
        await _busy_farm(desktop, tmp_path, workers)
        desktop.window.close()  # a tray: closing the window is not quitting
        await asyncio.sleep(0.3)
        assert not desktop.window.isVisible() and desktop.question is None and not running.done()

        desktop.window.quit_action.trigger()
        await wait_for(lambda: _asking(desktop), 15, "the question")
        question = desktop.question
        said = question.text()
        assert "render-pc" in said and "1 job" in said and "1 task runs" in said
        assert sorted(question.choices.values()) == sorted([KEEP, AFTER_TASKS, NOW])
        question.cancel.click()
        await asyncio.sleep(0.5)
        assert not running.done() and await _http(f"{url}/api/v3/version")

        desktop.tray.quit_requested.emit()  # the tray's Quit asks the same
        await wait_for(lambda: _asking(desktop), 15, "asked again")
        desktop.question.button(KEEP).click()
        await asyncio.sleep(0.5)
        assert not running.done() and not desktop.window.isVisible() and desktop.tray.shown
        assert await _http(f"{url}/api/v3/version"), "the farm goes on"

        desktop.window.quit_action.trigger()
        await wait_for(lambda: desktop.question is not None, 15, "asked once more")
        desktop.question.button(NOW).click()
        assert await asyncio.wait_for(running, 30) == 0

    try:
        qloop.run_until_complete(body())
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.slow  # worker processes render
def test_stop_after_the_current_tasks_hands_out_nothing_new_and_quits_when_the_task_is_done(qloop, tmp_path):
    desktop = _desktop(tmp_path)
    workers: list[WorkerProcess] = []

    async def body():
        running = await _started(desktop)
        url = desktop.services.manager_url
        _worker, job = await _busy_farm(desktop, tmp_path, workers)
        desktop.window.quit_action.trigger()
        await wait_for(lambda: _asking(desktop), 15, "the question")
        at_choice = await _tasks(url, job)
        desktop.question.button(AFTER_TASKS).click()
        await wait_for(lambda: desktop.waiting is not None and desktop.waiting.isVisible(), 15, "waiting")
        assert "1 running task" in desktop.waiting.text()
        last = at_choice
        while not running.done():
            try:
                last = await _tasks(url, job)
            except OSError:
                break  # the Manager stopped between the check and the request
            await asyncio.sleep(0.2)
        assert await asyncio.wait_for(running, 30) == 0
        # The last answer over HTTP may predate the task's end by one poll: the Manager's own
        # database file, read after it stopped, has the final word.
        final = _stored_tasks(tmp_path, job)
        started_then = {t for t, s in at_choice.items() if s in ("active", "completed")}
        for seen in (last, final):
            started_later = {t for t, s in seen.items() if s in ("active", "completed")} - started_then
            assert started_later == set(), "no task was handed out after the choice"
        assert "active" not in final.values() and "queued" in final.values(), final

    try:
        qloop.run_until_complete(body())
    finally:
        for worker in workers:
            worker.stop()


@pytest.mark.slow
def test_the_exit_path_twenty_times_in_a_row(tmp_path):
    """The real program, role "both" (Manager, worker, dashboard), quit from the dashboard or the worker
    window at moments from just started to settled: exit code 0 and no fatal error, every time."""
    home = tmp_path / "home"
    (home / "shared").mkdir(parents=True)
    (home / "flamenco-manager.yaml").write_text(
        f"_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: {home / 'shared'}\n")
    (home / "tablao-desktop.yaml").write_text("role: both\n")
    # The worker's settings and credentials live in the platform's folders: these, not the user's.
    worker_config = tmp_path / "xdg-config" / "tablao" / "tablao-worker.yaml"
    worker_config.parent.mkdir(parents=True)
    worker_config.write_text(f"worker_name: exit-test\ndata_dir: {tmp_path / 'worker'}\n")
    env = dict(os.environ, TABLAO_HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT),
               XDG_CONFIG_HOME=str(tmp_path / "xdg-config"), XDG_DATA_HOME=str(tmp_path / "xdg-data"))
    for run in range(20):
        delay, where = (0.1, 0.5, 1.0, 2.0)[run % 4], ("dashboard", "worker")[run % 2]
        probe = [sys.executable, str(ROOT / "tests" / "ui" / "quit_probe.py"), str(delay), where]
        result = subprocess.run(probe, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        said = result.stdout[-3000:] + result.stderr[-3000:]
        assert result.returncode == 0, f"run {run + 1} ({where}, {delay} s): exit {result.returncode}\n{said}"
        assert "Fatal Python error" not in said and "Traceback" not in said, f"run {run + 1}:\n{said}"


def test_ctrl_q_works_in_the_wizard_and_the_worker_window_too(qloop, tmp_path):
    from app.ui.windows.worker_mode import WorkerModeWindow
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import SetupWizard

    async def body():
        wizard = SetupWizard(WizardContext(client=None))
        wizard.show()
        wizard.activateWindow()
        await asyncio.sleep(0.2)  # shown and active: a window shortcut needs its window active
        QTest.keyClick(wizard, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
        assert not wizard.isVisible() and wizard.result() == 0, "Ctrl+Q leaves the wizard"

        services = LocalServices(manager_config_path=tmp_path / "unused.yaml")
        window = WorkerModeWindow(services, RoleConfig("worker", "http://127.0.0.1:9/"), has_tray=False)
        asked = []
        window.quit_handler = lambda: asked.append(True)
        window.show()
        window.activateWindow()
        await asyncio.sleep(0.2)
        try:
            assert window.worker_actions.quit.shortcut() == QUIT_SHORTCUT
            QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
            assert asked == [True], "the worker window's Ctrl+Q is the app's Quit"
        finally:
            await window.shutdown()
            window.close_for_good()

    qloop.run_until_complete(body())
