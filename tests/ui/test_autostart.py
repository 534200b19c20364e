"""Start at login: the freedesktop entry, the macOS LaunchAgent and the Windows Run value are written
and removed where each system looks for them (macOS under a temporary home; Windows through a
stand-in for `winreg`, as this runs on Linux)."""

from __future__ import annotations

import plistlib
import types
from pathlib import Path

from app.ui import autostart


def test_the_autostart_entry_is_written_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert autostart.supported("linux") == "" and not autostart.is_enabled("linux")
    path = autostart.set_enabled(True, ["/opt/tablao/bin/python", "-m", "app", "worker"], platform="linux")
    assert Path(path) == tmp_path / "cfg" / "autostart" / "tablao-worker.desktop"
    text = Path(path).read_text()
    assert "Type=Application" in text and "Exec=/opt/tablao/bin/python -m app worker" in text
    assert autostart.is_enabled("linux")
    autostart.set_enabled(False, platform="linux")
    assert not Path(path).exists() and not autostart.is_enabled("linux")


def test_a_launch_agent_on_macos(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.supported("darwin") == "" and not autostart.is_enabled("darwin")
    cmd = ["/Applications/Tablao.app/python", "-m", "app", "worker"]
    path = Path(autostart.set_enabled(True, cmd, platform="darwin"))
    assert path == tmp_path / "Library" / "LaunchAgents" / "org.tablao.worker.plist"
    agent = plistlib.loads(path.read_bytes())
    assert agent == {"Label": "org.tablao.worker", "ProgramArguments": cmd, "RunAtLoad": True,
                     "ProcessType": "Interactive"}
    assert autostart.is_enabled("darwin")
    autostart.set_enabled(False, platform="darwin")
    assert not path.exists() and not autostart.is_enabled("darwin")


class _Key:
    def __init__(self, values: dict):
        self.values = values

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _fake_winreg() -> types.ModuleType:
    """The part of `winreg` used, over a dict: {key path: {value name: value}}."""
    hive: dict[str, dict] = {}
    reg = types.ModuleType("winreg")
    reg.HKEY_CURRENT_USER, reg.REG_SZ = "HKCU", 1
    reg.hive = hive

    def open_key(root, path):
        if f"{root}\\{path}" not in hive:
            raise FileNotFoundError(path)
        return _Key(hive[f"{root}\\{path}"])

    def query(key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        return key.values[name], reg.REG_SZ

    def delete(key, name):
        if name not in key.values:
            raise FileNotFoundError(name)
        del key.values[name]

    reg.OpenKey = open_key
    reg.CreateKey = lambda root, path: _Key(hive.setdefault(f"{root}\\{path}", {}))
    reg.QueryValueEx = query
    reg.SetValueEx = lambda key, name, _reserved, kind, value: key.values.__setitem__(name, value)
    reg.DeleteValue = delete
    return reg


def test_the_run_value_on_windows():
    reg = _fake_winreg()
    assert autostart.supported("win32") == "" and not autostart.is_enabled("win32", winreg=reg)
    cmd = [r"C:\Program Files\Tablao\pythonw.exe", "-m", "app", "worker"]
    where = autostart.set_enabled(True, cmd, platform="win32", winreg=reg)
    assert where == r"HKEY_CURRENT_USER\Software\Microsoft\Windows\CurrentVersion\Run\Tablao worker"
    run = reg.hive[r"HKCU\Software\Microsoft\Windows\CurrentVersion\Run"]
    assert run == {"Tablao worker": r'"C:\Program Files\Tablao\pythonw.exe" -m app worker'}
    assert autostart.is_enabled("win32", winreg=reg)
    autostart.set_enabled(False, platform="win32", winreg=reg)
    assert run == {} and not autostart.is_enabled("win32", winreg=reg)
    autostart.set_enabled(False, platform="win32", winreg=reg)  # removing twice is fine


def test_other_systems_say_why():
    assert "not supported on sunos5" in autostart.supported("sunos5")


def test_the_bundled_program_starts_itself_as_the_worker(monkeypatch):
    """In the bundle sys.executable is `tablao` itself: `-m app` would be taken for a role and refused."""
    import sys

    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/tablao/tablao")
    assert autostart.command("linux") == ["/opt/tablao/tablao", "worker"]
    assert "Exec=/opt/tablao/tablao worker" in autostart.entry()
