"""Mode ▸ Join a hub…: the local Manager becomes a site of a real hub, checked before it is saved."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialogButtonBox

from app.manager.hub_link import hub_link_of
from app.ui.dialogs.join_hub import JoinHubDialog, hub_link_values, save_hub_link
from app.ui.mode import BOTH, DASHBOARD, WORKER, ModeMenu, ModeModel
from tests.e2e.farm import free_port
from tests.hub.conftest import RunningHub
from tests.ui.conftest import wait_for
from tests.ui.test_modes import _desktop


def _save(dialog: JoinHubDialog):
    return dialog.buttons.button(QDialogButtonBox.StandardButton.Save)


def test_the_dialog_offers_save_only_for_settings_the_manager_can_use(qapp):
    dialog = JoinHubDialog({})
    assert _save(dialog).isEnabled() and dialog.problem.text() == "", "all empty: leave the hub"
    dialog.fields["hub_url"].setText("hub.example")
    assert not _save(dialog).isEnabled() and "hub_site, hub_token missing" in dialog.problem.text()
    dialog.fields["hub_site"].setText("paris")
    dialog.fields["hub_token"].setText("t" * 43)
    assert "not an http(s) address" in dialog.problem.text()
    dialog.fields["hub_url"].setText("https://hub.example:8090/")
    assert _save(dialog).isEnabled() and dialog.problem.text() == ""
    assert dialog.values() == {"hub_url": "https://hub.example:8090/", "hub_site": "paris", "hub_token": "t" * 43}


def test_saving_and_leaving_keep_the_rest_of_the_config(tmp_path: Path):
    path = tmp_path / "flamenco-manager.yaml"
    path.write_text("_meta:\n  version: 3\nlisten: 127.0.0.1:0\nmqtt: {keep: me}\n")
    save_hub_link(path, {"hub_url": "http://hub:8090/", "hub_site": "A", "hub_token": "x" * 40})
    assert hub_link_values(path) == {"hub_url": "http://hub:8090/", "hub_site": "A", "hub_token": "x" * 40}
    save_hub_link(path, {"hub_url": "", "hub_site": "", "hub_token": ""})
    assert hub_link_values(path) == {"hub_url": "", "hub_site": "", "hub_token": ""}
    assert "mqtt" in path.read_text() and "127.0.0.1:0" in path.read_text()


@pytest.mark.slow  # a desktop app, a hub and a restart of the Manager: seconds
def test_join_a_hub_from_the_mode_menu_links_the_local_manager(qloop, tmp_path):
    desktop = _desktop(tmp_path)
    hub = RunningHub(tmp_path / "hub", free_port(), sites=("studio",))

    async def body():
        await hub.start()
        token = await hub.hub.sites.add("studio")
        running = asyncio.ensure_future(desktop.run())
        try:
            await wait_for(lambda: (desktop.roles_started and desktop.window is not None) or running.done(), 60,
                           "the app")
            menu = desktop.window.mode_menu
            assert menu.join_hub.isEnabled()
            menu.join_hub.trigger()
            await wait_for(lambda: any(isinstance(w, JoinHubDialog) and w.isVisible()
                                       for w in QApplication.topLevelWidgets()), 10, "the dialog")
            dialog = next(w for w in QApplication.topLevelWidgets() if isinstance(w, JoinHubDialog) and w.isVisible())
            dialog.fields["hub_url"].setText(hub.url + "/")
            dialog.fields["hub_site"].setText("studio")
            dialog.fields["hub_token"].setText(token)
            _save(dialog).click()
            await wait_for(lambda: hub.hub.sites.connection("studio") is not None, 60, "the site linked to the hub")
            manager = desktop.services.manager_runner.manager
            assert manager is not None
            # The hub sees the connection a moment before the site has read the hub's welcome.
            await wait_for(lambda: hub_link_of(manager.services).connected.is_set(), 30, "the site's side linked")
        finally:
            desktop.quit.set()
            await asyncio.wait_for(running, 60)
            await hub.stop()

    qloop.run_until_complete(body())


def test_only_a_computer_running_a_manager_may_join(qapp):
    model = ModeModel()
    model.set_mode(WORKER, {})
    menu = ModeMenu(model, DASHBOARD, None)
    assert not menu.join_hub.isEnabled() and "runs a Manager" in menu.join_hub.toolTip()
    model.set_mode(BOTH, {})
    assert menu.join_hub.isEnabled()
