"""The setup wizard's question about scripts inside .blend files, and the settings page's switch, against
a real Manager process: off by default; on makes a submit token, shown with a Copy button, which the
Manager saves with the setup and then honours (its submit policy says scripts run for that token)."""

from __future__ import annotations

import json
import urllib.request

import pytest
import yaml
from PySide6.QtGui import QGuiApplication

from app.api.client import ManagerClient
from app.ui.launch import open_dashboard
from app.ui.wizard.context import WizardContext
from app.ui.wizard.wizard import HUB, NETWORK, REVIEW, SCRIPTS, TEST, VARIABLES, SetupWizard
from tests.ui.conftest import wait_for


def _policy(manager, token: str = "") -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(manager.url + "/api/v3/tablao/submit-policy", headers=headers)
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


async def _past_the_port(wizard) -> None:
    """From the scripts page over the network page (its port checked) and the optional hub page to the review."""
    wizard.next()
    assert wizard.currentId() == NETWORK
    await wait_for(lambda: wizard.pages[NETWORK].isComplete(), 15, "the port checked")
    wizard.next()
    assert wizard.currentId() == HUB and wizard.pages[HUB].isComplete()
    wizard.next()


def _context(manager) -> WizardContext:
    """What the pages before this one chose: the Manager's own storage, the Blender on PATH."""
    return WizardContext(client=ManagerClient(manager.url, admin_token=manager.admin_token), role="manager",
                         storage_path=str(manager.root / "shared"), storage_report={"approach_text": "in place"},
                         blender={"source": "default", "input": "blender", "path": "blender", "cause": "default"})


@pytest.mark.slow  # a Manager process, over 2 s
def test_scripts_are_off_by_default_and_on_makes_a_token_the_manager_saves(qloop, manager_proc):
    ctx = _context(manager_proc)

    async def body():
        wizard = SetupWizard(ctx)
        wizard.setStartId(VARIABLES)
        wizard.show()
        try:
            wizard.next()
            assert wizard.currentId() == SCRIPTS
            page = wizard.pages[SCRIPTS]
            assert page.off.isChecked() and not page.token_box.isVisible(), "off is the default"
            words = " ".join(label.text() for label in page.findChildren(type(page.copied)))
            for said in ("rig", "drivers", "add-ons", "any program", "every render node", "artists' own computers"):
                assert said in words, said

            page.on.setChecked(True)
            token = page.token.text()
            assert page.token_box.isVisible() and len(token) >= 32 and page.token.isReadOnly()
            page.copy.click()
            assert QGuiApplication.clipboard().text() == token
            assert "Copied" in page.copied.text()
            page.off.setChecked(True)
            page.on.setChecked(True)
            assert page.token.text() == token, "the same token while the page is open"

            await _past_the_port(wizard)
            assert wizard.currentId() == REVIEW
            assert "run for jobs sent with the submit token" in wizard.pages[REVIEW].summary.text()
            wizard.next()  # applies: the setup assistant saves, the Manager starts again with it
            await wait_for(lambda: wizard.currentId() == TEST or "Could not" in wizard.pages[REVIEW].status.text(),
                           90, "applied")
            assert wizard.currentId() == TEST, wizard.pages[REVIEW].status.text()
            saved = yaml.safe_load((manager_proc.root / "flamenco-manager.yaml").read_text())
            assert saved["allow_blend_scripts"] is True and saved["submit_token"] == token
            await wait_for(lambda: _policy(manager_proc, token)["blend_scripts_run"], 30, "the token honoured")
            assert _policy(manager_proc)["blend_scripts_run"] is False, "never without it"
        finally:
            wizard.close()
            await ctx.client.close()

    qloop.run_until_complete(body())


def test_choosing_off_keeps_scripts_off(qloop, manager_proc):
    ctx = _context(manager_proc)

    async def body():
        wizard = SetupWizard(ctx)
        wizard.setStartId(SCRIPTS)
        wizard.show()
        try:
            await _past_the_port(wizard)
            assert wizard.currentId() == REVIEW
            assert "never run (off)" in wizard.pages[REVIEW].summary.text()
            assert ctx.allow_blend_scripts is False and ctx.submit_token == ""
        finally:
            wizard.close()
            await ctx.client.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # a Manager process, over 2 s
def test_the_settings_page_shows_and_edits_the_same_two_settings(qloop, manager_proc):
    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        view = window.settings_view
        try:
            window.tabs.setCurrentWidget(view)
            await wait_for(lambda: bool(view.raw), message="settings loaded")
            await wait_for(lambda: "writable" in view.storage_result.text(), message="storage checked")
            assert not view.scripts.isChecked() and view.submit_token.text() == ""
            view.submit_token.setText("too short")
            assert any("16 to 200" in p and "press New" in p for p in view.problems()), view.problems()
            view.new_token.click()
            token = view.submit_token.text()
            assert len(token) >= 32 and not view.problems()
            view.copy_token.click()
            assert QGuiApplication.clipboard().text() == token
            view.scripts.setChecked(True)
            view.save()
            await wait_for(lambda: view.status.text().startswith("Saved"), message="saved")
            raw = manager_proc.send("GET", "/api/v3/configuration/file", admin=True)
            assert raw["allow_blend_scripts"] is True and raw["submit_token"] == token
            assert _policy(manager_proc, token)["blend_scripts_run"] is True, "applies at once"
            view.status.clear()
            view.scripts.setChecked(False)
            view.save()
            await wait_for(lambda: view.status.text().startswith("Saved"), message="saved again")
            assert _policy(manager_proc, token)["blend_scripts_run"] is False, "off again, at once"
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
