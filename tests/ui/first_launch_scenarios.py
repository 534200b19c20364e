"""First launch end to end: the wizard on a fresh configuration folder, ending in a real render.

The local Manager runs in this process (as in the desktop app), the local worker too ("both"),
and Debian's Blender makes the test scene and renders its frame, which the wizard then shows.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
import yaml

from app.common.roles import load_role
from app.ui.desktop import DesktopApp
from app.ui.local_services import LocalServices
from app.ui.wizard.wizard import BLENDER, HUB, NETWORK, REVIEW, ROLE, SCRIPTS, STORAGE, TEST, VARIABLES
from tests.ui.conftest import wait_for

pytestmark = pytest.mark.slow


def test_the_wizard_sets_up_a_farm_in_both_mode_and_shows_a_rendered_frame(qloop, tmp_path: Path):
    worker_cfg = tmp_path / "worker" / "flamenco-worker.yaml"
    worker_cfg.parent.mkdir()
    worker_cfg.write_text(yaml.safe_dump({"worker_name": "this-computer", "data_dir": str(tmp_path / "worker")}))
    shared = tmp_path / "shared"
    shared.mkdir()
    services = LocalServices(manager_config_path=tmp_path / "m" / "flamenco-manager.yaml",
                             worker_config_path=worker_cfg, listen="127.0.0.1:0")
    desktop = DesktopApp(services, None)

    async def body():
        launch = asyncio.ensure_future(desktop.first_launch())
        try:
            await wait_for(lambda: getattr(desktop, "_wizard", None) is not None, 60, "the wizard")
            wizard = desktop._wizard
            assert wizard.currentId() == ROLE
            wizard.pages[ROLE].buttons["both"].setChecked(True)
            wizard.next()
            assert wizard.currentId() == STORAGE
            wizard.pages[STORAGE].path.setText(str(tmp_path / "missing"))
            await wait_for(lambda: "cannot be used" in wizard.pages[STORAGE].result.text(), 15, "a refused folder")
            assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()
            wizard.pages[STORAGE].path.setText(str(shared))
            await wait_for(lambda: wizard.pages[STORAGE].isComplete(), 15, "the storage check")
            wizard.next()
            assert wizard.currentId() == BLENDER
            await wait_for(lambda: wizard.pages[BLENDER].isComplete(), 60, "Blender found and checked")
            wizard.next()
            assert wizard.currentId() == VARIABLES
            wizard.pages[VARIABLES].storage["windows"].setText("R:\\render")
            wizard.back()  # Back keeps what was typed
            assert wizard.currentId() == BLENDER and wizard.pages[STORAGE].path.text() == str(shared)
            wizard.next()
            assert wizard.currentId() == VARIABLES and wizard.pages[VARIABLES].storage["windows"].text() == "R:\\render"
            wizard.next()
            assert wizard.currentId() == SCRIPTS and wizard.pages[SCRIPTS].off.isChecked(), "scripts off by default"
            wizard.next()
            assert wizard.currentId() == NETWORK
            assert wizard.pages[NETWORK].isComplete(), "--listen given: no question"
            wizard.next()
            assert wizard.currentId() == HUB
            assert wizard.pages[HUB].isComplete() and not wizard.pages[HUB].joins.isChecked(), "a hub is optional"
            wizard.next()
            assert wizard.currentId() == REVIEW
            assert str(shared) in wizard.pages[REVIEW].summary.text()
            assert "this Manager stands alone" in wizard.pages[REVIEW].summary.text()
            wizard.next()  # applies: the Manager restarts in place with the new storage
            await wait_for(lambda: wizard.currentId() == TEST, 90, "applied")
            page = wizard.pages[TEST]
            await wait_for(lambda: page.frame_shown or page.retry.isVisible(), 300, "the test render")
            assert page.frame_shown, page.status.text()
            assert not page.image.pixmap().isNull()
            wizard.accept()
            assert await launch is True
        finally:
            if not launch.done():
                launch.cancel()
        role = load_role()
        assert role is not None and role.role == "both"
        variables = services.manager_runner.manager.config.variables
        assert {v["platform"]: v["value"] for v in variables["storage"]["values"]}["windows"] == "R:\\render"
        await services.stop()

    qloop.run_until_complete(body())


def test_a_worker_finds_its_manager_on_the_network_from_the_wizard(qloop, manager_proc, monkeypatch):
    from app.common import discovery
    from app.manager.lan.discovery import SsdpAdvertiser
    from app.ui.wizard.context import WizardContext
    from app.ui.wizard.wizard import SetupWizard

    async def body():
        advertiser = SsdpAdvertiser(lambda: manager_proc.port, bind=("127.0.0.1", 0), multicast=False)
        task = asyncio.ensure_future(advertiser.run())
        try:
            await wait_for(lambda: advertiser.address is not None, 10, "the advertiser")
            real = discovery.find_manager
            # Loopback only in tests: the search goes to the advertiser's own address.
            monkeypatch.setattr(discovery, "find_manager",
                                lambda timeout_s=3.0: real(timeout_s, targets=[advertiser.address]))
            ctx = WizardContext(client=None)
            wizard = SetupWizard(ctx)
            wizard.show()
            page = wizard.pages[ROLE]
            page.buttons["worker"].setChecked(True)
            page.find_button.click()
            await wait_for(lambda: page.manager_url.text().startswith("http://127.0.0.1:"), 15, "a found Manager")
            assert str(manager_proc.port) in page.manager_url.text()
            wizard.next()
            assert ctx.manager_found_by == "discovery" and wizard.currentId() == REVIEW
            wizard.close()
        finally:
            task.cancel()

    qloop.run_until_complete(body())


def test_nothing_listens_before_the_wizard_is_done_and_a_busy_port_is_a_question(qloop, tmp_path: Path):
    import socket
    import urllib.request

    import psutil

    from app.manager.settings.config import load_config

    shared = tmp_path / "shared"
    shared.mkdir()
    held = socket.socket()  # "port 8080": another program listens there
    held.bind(("0.0.0.0", 0))
    held.listen()
    busy = held.getsockname()[1]
    config = tmp_path / "m" / "flamenco-manager.yaml"
    config.parent.mkdir()
    config.write_text(f"_meta:\n  version: 3\nlisten: :{busy}\n")
    services = LocalServices(manager_config_path=config)
    desktop = DesktopApp(services, None)

    def our_tcp_listeners() -> set[tuple[str, int]]:
        return {(c.laddr.ip, c.laddr.port) for c in psutil.Process().net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr.port != busy}

    async def body():
        launch = asyncio.ensure_future(desktop.first_launch())
        try:
            await wait_for(lambda: getattr(desktop, "_wizard", None) is not None, 60, "the wizard")
            wizard = desktop._wizard
            assert {ip for ip, _ in our_tcp_listeners()} == {"127.0.0.1"}, "only the wizard's private Manager"
            wizard.pages[ROLE].buttons["manager"].setChecked(True)
            wizard.next()
            wizard.pages[STORAGE].path.setText(str(shared))
            await wait_for(lambda: wizard.pages[STORAGE].isComplete(), 15, "the storage check")
            wizard.next()
            await wait_for(lambda: wizard.pages[BLENDER].isComplete(), 60, "Blender found and checked")
            wizard.next()
            wizard.next()
            assert wizard.currentId() == SCRIPTS
            wizard.next()
            assert wizard.currentId() == NETWORK
            page = wizard.pages[NETWORK]
            await wait_for(page.isComplete, 15, "a free port proposed")
            proposed = page.port.value()
            assert proposed > busy
            said = page.result.text()
            assert f"Port {busy} is in use by" in said and f"pid {os.getpid()}" in said
            assert f":{proposed}/" in page.address.text()
            page.port.setValue(busy)  # the lead types the busy one again: Next waits
            await wait_for(lambda: "Choose another port" in page.result.text(), 15, "said busy")
            assert not page.isComplete()
            page.port.setValue(proposed)
            await wait_for(page.isComplete, 15, "free again")
            assert {ip for ip, _ in our_tcp_listeners()} == {"127.0.0.1"}, "still nothing on the network"
            wizard.next()
            assert wizard.currentId() == HUB
            wizard.next()  # optional: no hub
            assert wizard.currentId() == REVIEW and f"port {proposed}" in wizard.pages[REVIEW].summary.text()
            wizard.next()  # applies, then the Manager moves to the chosen port
            await wait_for(lambda: wizard.currentId() == TEST, 90, "applied")
            assert ("0.0.0.0", proposed) in our_tcp_listeners()
            addon = wizard.pages[TEST].addon.text()
            assert f":{proposed}/tablao-addon.zip" in addon and "Help ▸ Get the Blender add-on" in addon
            url = addon.split("href='")[1].split("'")[0]

            def fetch() -> bytes:  # from outside: the Manager answers on this test's own loop
                with urllib.request.urlopen(url, timeout=10) as resp:
                    return resp.read()

            assert (await asyncio.to_thread(fetch))[:2] == b"PK", "the add-on is where the page says"
            wizard.accept()
            assert await launch is True
        finally:
            if not launch.done():
                launch.cancel()
            held.close()
        assert load_config(config).listen == f":{proposed}"
        await services.stop()

    qloop.run_until_complete(body())
