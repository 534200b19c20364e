"""'Stay asleep while my own programs are busy', and the words shown where idle time cannot be read.

A real Manager (subprocess), a real worker (in process) and a real CPU-burning program that is not
part of the worker's process tree; the limit is set low in the window, the sampling fast.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.common.idle import why_unreadable
from app.common.roles import RoleConfig
from app.ui import tray_state as ts
from app.ui.local_services import LocalServices
from app.ui.windows import worker_mode
from app.ui.windows.worker_mode import QUIT_NOW, WorkerModeWindow
from tests.fakes.burner import start_foreign_burner, stop_burner
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow


def _services(tmp_path: Path, name: str) -> LocalServices:
    cfg = tmp_path / "worker" / "tablao-worker.yaml"
    cfg.parent.mkdir(parents=True)
    cfg.write_text(yaml.safe_dump({"worker_name": name, "data_dir": str(tmp_path / "worker"), "task_wait_s": 2}))
    return LocalServices(manager_config_path=tmp_path / "unused.yaml", worker_config_path=cfg)


def test_a_busy_foreign_program_holds_the_worker_asleep_and_says_why(qloop, tmp_path, manager_proc):
    services = _services(tmp_path, "busy-pc")
    role = RoleConfig(role="worker", manager_url=manager_proc.url, manager_found_by="typed")
    burner = None

    async def body():
        nonlocal burner
        services.start_worker(manager_proc.url)
        window = WorkerModeWindow(services, role, has_tray=True, load_interval_ms=300)
        c = window.controller
        try:
            assert not window.load_on.isChecked() and window.load is None   # off by default
            await wait_for(lambda: c.state.kind == ts.IDLE, 60, "the worker awake")
            burner = start_foreign_burner()
            window.load_cpu.setValue(5)
            window.load_on.setChecked(True)
            await wait_for(lambda: c.state.kind == ts.PAUSED and c.held, 60, "held asleep by the burner")
            assert c.held.startswith("your programs use") and "limit 5%" in c.held
            assert window.tray.icon.toolTip() == f"Tablao worker: asleep: {c.held}"
            assert window.state_text.text() == f"<b>Asleep</b>: {c.held}", "one word, the dashboard's"
            await wait_for(lambda: "Held asleep" in window.load_note.text(), 30, "the reason in the options")
            assert "other programs: CPU" in window.load_note.text() and "GPU" in window.load_note.text()
            assert manager_proc.get(f"/api/v3/worker-mgt/workers/{c.worker_id}")["status"] == "asleep"

            stop_burner(burner)
            window.load_cpu.setValue(100)   # nothing is above 100%: the hold lets go after calm readings
            await wait_for(lambda: c.state.kind == ts.IDLE and not c.held, 60, "awake again")
            window.load_on.setChecked(False)
            assert window.load is None and window.load_note.text() == ""
        finally:
            if burner is not None:
                stop_burner(burner)
            await window.ask_quit(QUIT_NOW)
            await services.stop()

    qloop.run_until_complete(body())


def test_where_the_idle_time_cannot_be_read_the_window_says_why(qloop, tmp_path, monkeypatch):
    why = why_unreadable({"XDG_SESSION_TYPE": "wayland"}, platform="linux")
    monkeypatch.setattr(worker_mode, "open_idle_source", lambda: (None, why))
    services = _services(tmp_path, "wayland-pc")
    role = RoleConfig(role="worker", manager_url="http://127.0.0.1:9", manager_found_by="typed")

    async def body():
        window = WorkerModeWindow(services, role, has_tray=False)
        try:
            window.away_on.setChecked(True)
            assert window.away is None
            assert window.away_note.text() == f"Cannot tell when you are away here: {why}."
            assert "Wayland" in window.away_note.text()
        finally:
            await window.ask_quit(QUIT_NOW)

    qloop.run_until_complete(body())
