"""The wizard's storage check never goes stale: a folder made after it was refused is seen without
editing the path (Browse's dialog, the window activated again, the page's own timer), and "Create this
folder" makes it off the UI thread. Against a real Manager process on this computer."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QFileDialog

from app.api.client import ManagerClient
from app.ui.wizard import storage_page
from app.ui.wizard.context import WizardContext
from app.ui.wizard.wizard import STORAGE, SetupWizard
from tests.ui.conftest import wait_for


async def _page(manager_proc, monkeypatch, recheck_ms: int = 60_000):
    monkeypatch.setattr(storage_page, "RECHECK_MS", recheck_ms)
    ctx = WizardContext(client=ManagerClient(manager_proc.url, admin_token=manager_proc.admin_token))
    wizard = SetupWizard(ctx)
    wizard.show()
    wizard.next()
    assert wizard.currentId() == STORAGE
    return wizard, wizard.pages[STORAGE]


async def _refused(wizard, page, path: Path) -> None:
    page.path.setText(str(path))
    await wait_for(lambda: "cannot be used" in page.result.text(), 15, "the refusal")
    assert not wizard.button(wizard.WizardButton.NextButton).isEnabled()


async def _accepted(wizard, page, message: str) -> None:
    await wait_for(page.isComplete, 15, message)
    assert "writable" in page.result.text()
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()
    assert not page.create_button.isVisible()


@pytest.mark.slow  # waits for the folder check, over 2 s
def test_a_folder_made_in_browses_dialog_is_seen_when_the_dialog_closes(qloop, manager_proc, tmp_path, monkeypatch):
    folder = tmp_path / "farm" / "storage"

    def new_folder_then_ok(*_args):  # the user makes it with New Folder and picks it: the same path
        folder.mkdir(parents=True)
        return str(folder)

    async def body():
        wizard, page = await _page(manager_proc, monkeypatch)
        try:
            await _refused(wizard, page, folder)
            monkeypatch.setattr(QFileDialog, "getExistingDirectory", new_folder_then_ok)
            browse = next(b for b in page.findChildren(type(page.create_button)) if b.text() == "Browse…")
            browse.click()
            await _accepted(wizard, page, "checked again after the dialog")
            assert page.path.text() == str(folder), "not edited"
        finally:
            wizard.close()
            await wizard.ctx.client.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # waits for the folder check, over 2 s
def test_a_folder_made_elsewhere_is_seen_when_the_window_is_activated_and_by_the_timer(
        qloop, manager_proc, tmp_path, monkeypatch):
    async def body():
        wizard, page = await _page(manager_proc, monkeypatch)
        try:
            folder = tmp_path / "made-in-a-file-manager"
            await _refused(wizard, page, folder)
            folder.mkdir()
            QApplication.sendEvent(page, QEvent(QEvent.Type.WindowActivate))  # back from the file manager
            await _accepted(wizard, page, "checked again on activation")
        finally:
            wizard.close()
            await wizard.ctx.client.close()
        wizard, page = await _page(manager_proc, monkeypatch, recheck_ms=300)
        try:
            folder = tmp_path / "mounted-later"
            await _refused(wizard, page, folder)
            folder.mkdir()
            await _accepted(wizard, page, "checked again by the page's timer")
        finally:
            wizard.close()
            await wizard.ctx.client.close()

    qloop.run_until_complete(body())


@pytest.mark.slow  # waits for the folder check, over 2 s
def test_create_this_folder_makes_it_and_checks_it(qloop, manager_proc, tmp_path, monkeypatch):
    async def body():
        wizard, page = await _page(manager_proc, monkeypatch)
        try:
            (tmp_path / "a-file").write_text("")
            await _refused(wizard, page, tmp_path / "a-file")
            assert not page.create_button.isVisible(), "a file is not a missing folder"
            folder = tmp_path / "new" / "render"
            await _refused(wizard, page, folder)
            await wait_for(page.create_button.isVisible, 15, "Create this folder offered")
            page.create_button.click()
            await _accepted(wizard, page, "made and checked")
            assert folder.is_dir()
        finally:
            wizard.close()
            await wizard.ctx.client.close()

    qloop.run_until_complete(body())
