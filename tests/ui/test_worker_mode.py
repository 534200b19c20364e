"""Worker mode against a real Manager (a subprocess) and a real worker (LocalServices, in process).

The tray's state must follow the worker's real state as the Manager changes it: awake, paused by
the artist, asleep by a schedule edited in the window (round-tripping through the Manager), the
Manager lost and found again.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml

from app.api.workers import WorkerSleepSchedule
from app.common.roles import RoleConfig
from app.ui import tray_state as ts
from app.ui.local_services import LocalServices
from app.ui.windows.worker_mode import QUIT_NOW, WorkerModeWindow
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow


def _services(tmp_path: Path, name: str = "artist-pc") -> LocalServices:
    cfg = tmp_path / "worker" / "tablao-worker.yaml"
    cfg.parent.mkdir(parents=True)
    # A short task poll: this branch predates the Manager waking a waiting worker on a status request.
    cfg.write_text(yaml.safe_dump({"worker_name": name, "data_dir": str(tmp_path / "worker"), "task_wait_s": 2}))
    return LocalServices(manager_config_path=tmp_path / "unused.yaml", worker_config_path=cfg)


def _kind(window: WorkerModeWindow) -> str:
    return window.controller.state.kind


def test_the_tray_follows_the_worker_as_the_manager_changes_it(qloop, tmp_path, manager_proc):
    services = _services(tmp_path)
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="typed")

    async def body():
        services.start_worker(manager_proc.url)
        window = WorkerModeWindow(services, role, has_tray=True)
        window.show()
        try:
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "the worker awake and idle")
            c = window.controller
            assert c.worker_id and "artist-pc" in window.manager.text() and "typed in" in window.manager.text()
            assert window.tray.icon.toolTip() == "Tablao worker: awake, waiting for work"
            assert window.state_text.text() == "<b>Awake</b>, waiting for work", "the dashboard's word"

            await c.stop_rendering()  # a request to the Manager; the state follows its events
            await wait_for(lambda: _kind(window) == ts.PAUSED, 60, "put to sleep by the artist")
            assert manager_proc.get(f"/api/v3/worker-mgt/workers/{c.worker_id}")["status"] == "asleep"
            assert window.state_text.text() == "<b>Asleep</b> until you choose Render now", "the Manager's word"
            await c.render_now()
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "awake again")

            # A schedule edited in the window goes to the Manager, whose schedule service applies it.
            now = dt.datetime.now()
            start, end = now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
            window.editor.set_schedule(WorkerSleepSchedule(is_active=True, days_of_week="",
                                                           start_time=start.strftime("%H:%M"),
                                                           end_time=end.strftime("%H:%M")))
            window.save_schedule.click()
            await wait_for(lambda: (manager_proc.get(f"/api/v3/worker-mgt/workers/{c.worker_id}/sleep-schedule")
                                    or {}).get("is_active") is True, 60, "the schedule on the Manager")
            stored = manager_proc.get(f"/api/v3/worker-mgt/workers/{c.worker_id}/sleep-schedule")
            assert (stored["start_time"], stored["end_time"]) == (start.strftime("%H:%M"), end.strftime("%H:%M"))
            await wait_for(lambda: _kind(window) == ts.ASLEEP, 60, "asleep by the schedule")
            assert window.tray.icon.toolTip().endswith(f"asleep until {end.strftime('%H:%M')} (sleep schedule)") or \
                "tomorrow" in window.tray.icon.toolTip()

            manager_proc.stop()
            await wait_for(lambda: _kind(window) == ts.UNREACHABLE, 60, "the Manager lost")
            assert "Manager" in window.manager.text()
            manager_proc.start()
            await wait_for(lambda: _kind(window) == ts.ASLEEP, 40, "the Manager found again")
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()

    qloop.run_until_complete(body())


def test_without_a_tray_the_window_holds_the_controls_and_says_so(qloop, tmp_path, manager_proc):
    services = _services(tmp_path, "no-tray-pc")
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="discovery")

    async def body():
        window = WorkerModeWindow(services, role, has_tray=False)
        closed = []
        window.closed.connect(lambda: closed.append(True))
        window.show()
        try:
            assert window.tray is None and window.no_tray.isVisible()
            assert "found on the network" in window.manager.text()
            assert window.buttons["render_now"].isVisible() and window.buttons["finish"].isVisible()
            # No worker signed on yet: the controller says so instead of failing.
            await wait_for(lambda: window.controller.connected, 60, "connected")
            assert not window.controller.worker_id
            services.start_worker(manager_proc.url)
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "the worker found by name")
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()
        assert closed == [True]

    qloop.run_until_complete(body())


class FakeIdle:
    """An injected idle-time source: the test says how long the artist has been away."""

    def __init__(self) -> None:
        self.seconds: float | None = 0.0

    def idle_seconds(self) -> float | None:
        return self.seconds


def test_render_only_when_away_follows_an_injected_idle_time(qloop, tmp_path, manager_proc):
    from PySide6.QtCore import QSettings

    services = _services(tmp_path, "away-pc")
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="typed")
    idle = FakeIdle()
    QSettings().setValue("away/minutes", 10)

    async def body():
        services.start_worker(manager_proc.url)
        window = WorkerModeWindow(services, role, has_tray=False, idle_source=idle)
        try:
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "the worker awake")
            window.away_on.setChecked(True)   # the artist is at the desk: asleep
            await wait_for(lambda: _kind(window) == ts.PAUSED, 60, "asleep while the artist works")
            idle.seconds = 601.0
            window.away.poll()
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "awake once the artist is away")
            idle.seconds = 1.0
            window.away.poll()
            await wait_for(lambda: _kind(window) == ts.PAUSED, 60, "asleep again when the artist is back")
            window.away_on.setChecked(False)
            assert window.away is None
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()

    qloop.run_until_complete(body())


def test_finish_the_current_task_then_stop(qloop, tmp_path, manager_proc):
    services = _services(tmp_path, "finishing-pc")
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="typed")

    async def body():
        services.start_worker(manager_proc.url)
        window = WorkerModeWindow(services, role, has_tray=False)
        try:
            await wait_for(lambda: _kind(window) == ts.IDLE, 60, "the worker awake")
            manager_proc.send("POST", "/api/v3/jobs", {
                "name": "slow echo", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "settings": {"message": "hi", "sleep_duration_seconds": 2, "sleep_repeats": 2}})
            await wait_for(lambda: _kind(window) == ts.RENDERING, 60, "rendering")
            assert window.controller.task is not None and window.task_name.text()
            await window.controller.finish_then_stop()
            await wait_for(lambda: "stops after this task" in window.controller.state.text
                           or _kind(window) == ts.PAUSED, 60, "the lazy request seen")
            await wait_for(lambda: _kind(window) == ts.PAUSED, 60, "stopped after the task")
            await wait_for(lambda: window.controller.history.done >= 1, 30, "the Manager's count of today")
            assert "tasks done" in window.today.text()
            assert window.log.toPlainText().strip()  # the live log tail showed the task's lines
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()

    qloop.run_until_complete(body())


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 90, 30)).save(out, "JPEG")
    return out.getvalue()


def _upload_frame(manager_proc, creds, task_id: str) -> None:
    import base64
    import urllib.request

    token = base64.b64encode(f"{creds.worker_id}:{creds.worker_secret}".encode()).decode()
    req = urllib.request.Request(f"{manager_proc.url}/api/v3/worker/task/{task_id}/output-produced", data=_jpeg(),
                                 method="POST", headers={"Authorization": f"Basic {token}",
                                                         "Content-Type": "image/jpeg"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        assert resp.status == 202


def test_the_window_shows_the_managers_count_of_today_and_the_last_frame(qloop, tmp_path, manager_proc):
    """Work done before the window opens (or before the app restarted) is in today's history."""
    from app.worker.config import WorkerConfig, load_credentials

    services = _services(tmp_path, "history-pc")
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="typed")

    async def body():
        services.start_worker(manager_proc.url)
        job = manager_proc.submit_echo("before the window", repeats=1)
        await wait_for(lambda: manager_proc.get(f"/api/v3/jobs/{job['id']}")["status"] == "completed", 60,
                       "the job done by the worker")
        tasks = manager_proc.get(f"/api/v3/jobs/{job['id']}/tasks")["tasks"]
        creds = load_credentials(WorkerConfig.load(services.worker_config_path).credentials_path)
        _upload_frame(manager_proc, creds, tasks[-1]["id"])
        window = WorkerModeWindow(services, role, has_tray=False)
        try:
            await wait_for(lambda: window.today.text().startswith(f"Today: {len(tasks)} tasks done, 0 failed"), 30,
                           "today's count from the Manager")
            await wait_for(lambda: not window.frame.pixmap().isNull(), 30, "this worker's last frame")
        finally:
            await window.ask_quit(QUIT_NOW)
            await services.stop()

    qloop.run_until_complete(body())
