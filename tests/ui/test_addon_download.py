"""Help ▸ Get the Blender add-on… against a real Manager process: the zip lands where the user said,
with that Manager's address in it, written off the UI thread; a Manager that is gone is said in words."""

from __future__ import annotations

import io
import json
import threading
import zipfile

import pytest
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from app.ui import addon_download
from app.ui.launch import open_dashboard
from tests.ui.conftest import ManagerProcess, wait_for


def _dialogs(name: str) -> list[QMessageBox]:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.objectName() == name
            and w.isVisible()]


@pytest.mark.slow  # over 2 s
def test_the_help_menu_saves_the_managers_addon(qloop, manager_proc, tmp_path, monkeypatch):
    target = tmp_path / "saved" / "tablao-addon.zip"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))
    writers = []
    real_write = addon_download._write
    monkeypatch.setattr(addon_download, "_write",
                        lambda path, data: (writers.append(threading.current_thread()), real_write(path, data)))

    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        try:
            help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
            assert window.addon_action in help_menu.actions()
            window.addon_action.trigger()
            await wait_for(lambda: _dialogs("addonSaved"), message="the saved message")
            text = _dialogs("addonSaved")[0].text()
            assert str(target) in text and manager_proc.url in text
            for box in _dialogs("addonSaved"):
                box.close()
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
    assert writers and writers[0] is not threading.main_thread()
    with zipfile.ZipFile(io.BytesIO(target.read_bytes())) as zf:
        assert json.loads(zf.read("tablao_blender/manager.json")) == {"manager_url": manager_proc.url + "/"}
    assert not list(target.parent.glob("*.part"))


@pytest.mark.slow  # over 2 s
def test_a_manager_that_is_gone_is_said_in_words(qloop, tmp_path, monkeypatch):
    manager = ManagerProcess(tmp_path / "gone").start()
    target = tmp_path / "tablao-addon.zip"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "")))

    async def body():
        dashboard, window = await open_dashboard([manager.url], admin_tokens=manager.admin_tokens)
        try:
            manager.stop()
            window.addon_action.trigger()
            await wait_for(lambda: _dialogs("errorDialog"), message="the error")
            box = _dialogs("errorDialog")[0]
            assert "cannot reach the Manager" in box.text(), box.text()
            box.close()
        finally:
            window.close()
            await dashboard.close()

    try:
        qloop.run_until_complete(body())
    finally:
        manager.stop()
    assert not target.exists()
