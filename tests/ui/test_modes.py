"""One mode (Manager, Worker, or both) in every window and menu; no menu offers the window it is in.

The desktop app runs in this process with its local Manager (127.0.0.1) and, once asked for, its
local worker, both real; the Mode menus are triggered as a user does.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from app.common.roles import RoleConfig, load_role
from app.ui.desktop import DesktopApp
from app.ui.local_services import LocalServices
from app.ui.mode import BOTH, DASHBOARD, MANAGER, WORKER, WORKER_WINDOW, ModeMenu, ModeModel
from tests.ui.conftest import wait_for


def _texts(menu) -> list[str]:
    return [a.text() for a in menu.actions() if not a.isSeparator()]


def _menu_items(window) -> list[str]:
    """Every item of every menu in the window's menu bar."""
    return [a.text() for top in window.menuBar().actions() if top.menu() is not None for a in top.menu().actions()]


def _desktop(tmp_path: Path, role: str = "manager") -> DesktopApp:
    cfg = tmp_path / "m" / "flamenco-manager.yaml"
    cfg.parent.mkdir(parents=True)
    (tmp_path / "shared").mkdir()
    cfg.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:0\nshared_storage_path: {tmp_path / 'shared'}\n")
    worker_cfg = tmp_path / "worker" / "flamenco-worker.yaml"
    worker_cfg.parent.mkdir()
    worker_cfg.write_text(yaml.safe_dump({"worker_name": "this-computer", "data_dir": str(worker_cfg.parent)}))
    services = LocalServices(manager_config_path=cfg, worker_config_path=worker_cfg, listen="127.0.0.1:0")
    return DesktopApp(services, RoleConfig(role=role), has_tray=False)


@pytest.mark.slow  # over 2 s
def test_both_menus_tick_the_same_mode_and_offer_only_the_other_window(qloop):
    model = ModeModel()
    model.set_mode(BOTH, {WORKER: "runs the Manager"})
    dashboard_menu = ModeMenu(model, DASHBOARD, None)
    worker_menu = ModeMenu(model, WORKER_WINDOW, None)
    for menu in (dashboard_menu, worker_menu):
        assert menu.checked() == [BOTH], "after Manager and Worker, only it is ticked"
        assert not menu.actions[WORKER].isEnabled() and menu.actions[WORKER].toolTip() == "runs the Manager"
    assert "Open the worker window" in _texts(dashboard_menu.menu)
    assert "Open the dashboard" not in _texts(dashboard_menu.menu)
    assert "Open the dashboard" in _texts(worker_menu.menu) and "Open the worker window" not in _texts(worker_menu.menu)

    asked = []
    model.requested.connect(asked.append)
    worker_menu.actions[MANAGER].trigger()
    assert asked == [MANAGER] and worker_menu.checked() == dashboard_menu.checked() == [BOTH], \
        "the tick stays on what runs until the app has switched"
    model.set_mode(MANAGER, {WORKER: "runs the Manager"})
    assert worker_menu.checked() == dashboard_menu.checked() == [MANAGER]
    assert dashboard_menu.open_other.isEnabled() is False, "no worker runs here: no worker window to open"


def test_the_mode_menu_switches_the_local_worker_and_every_window_says_the_same(qloop, tmp_path):
    desktop = _desktop(tmp_path)

    async def body():
        running = asyncio.ensure_future(desktop.run())
        try:
            await wait_for(lambda: (desktop.roles_started and desktop.window is not None) or running.done(), 60,
                           "the app")
            window = desktop.window
            assert desktop.modes.mode == MANAGER and window.mode_menu.checked() == [MANAGER]
            assert not window.mode_menu.actions[WORKER].isEnabled(), "the farm's Manager cannot become a worker here"
            assert "Setup wizard" in window.mode_menu.actions[WORKER].toolTip()

            window.mode_menu.actions[BOTH].trigger()  # Manager and Worker: this computer renders too
            await wait_for(lambda: desktop.worker_window is not None and desktop.modes.mode == BOTH, 30, "both")
            worker_window = desktop.worker_window
            assert desktop.services.worker_running
            assert window.mode_menu.checked() == worker_window.mode_menu.checked() == [BOTH]
            assert load_role().role == "both", "kept for the next start"
            worker_items = _menu_items(worker_window)
            assert "Open the worker window" not in worker_items, "no menu offers the window it is in"
            assert "Open the dashboard" in worker_items and "Open the dashboard" not in _menu_items(window)

            window.hide()
            worker_window.mode_menu.open_other.trigger()  # Mode ▸ Open the dashboard
            await wait_for(window.isVisible, 10, "the dashboard again")

            worker_window.mode_menu.actions[MANAGER].trigger()  # back to Manager: the worker stops
            await wait_for(lambda: desktop.modes.mode == MANAGER, 30, "manager only")
            assert desktop.worker_window is None and not desktop.services.worker_running
            assert window.mode_menu.checked() == [MANAGER] and load_role().role == "manager"
        finally:
            desktop.quit.set()
            await asyncio.wait_for(running, 60)

    qloop.run_until_complete(body())
