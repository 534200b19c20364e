"""Start at login: the freedesktop autostart entry is written and removed where XDG says."""

from __future__ import annotations

from app.ui import autostart


def test_the_autostart_entry_is_written_and_removed(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert autostart.supported() == "" and not autostart.is_enabled()
    path = autostart.set_enabled(True, ["/opt/tablao/bin/python", "-m", "app", "worker"])
    assert path == tmp_path / "cfg" / "autostart" / "tablao-worker.desktop"
    text = path.read_text()
    assert "Type=Application" in text and "Exec=/opt/tablao/bin/python -m app worker" in text
    assert autostart.is_enabled()
    autostart.set_enabled(False)
    assert not path.exists() and not autostart.is_enabled()
