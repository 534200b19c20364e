"""The few lines a fresh Manager says about what to do next."""

from __future__ import annotations

from pathlib import Path

from app.manager.settings.config import ManagerConfig
from app.manager.settings.guidance import guidance_lines


def test_a_fresh_manager_says_where_it_is_and_what_is_missing(tmp_path: Path):
    cfg = ManagerConfig(path=tmp_path / "flamenco-manager.yaml", listen=":8080")
    lines = guidance_lines(cfg, 8080)
    text = "\n".join(lines)
    assert lines[0].startswith("workers and the Blender add-on reach this Manager at http://")
    assert ":8080/" in lines[0]
    assert "shared storage is not set up" in text and str(cfg.path) in text
    assert "tablao worker --headless --manager http://" in lines[-1]


def test_a_set_up_manager_names_its_storage_and_a_local_only_listen(tmp_path: Path):
    (tmp_path / "shared").mkdir()
    cfg = ManagerConfig(path=tmp_path / "m.yaml", listen="127.0.0.1:9000", shared_storage_path=str(tmp_path / "shared"),
                        variables={"blender": {"values": [{"platform": "all", "value": "/nonexistent/blender"}]}})
    text = "\n".join(guidance_lines(cfg, 9000))
    assert "http://127.0.0.1:9000/" in text
    assert "listens on this computer only" in text
    assert f"shared storage: {tmp_path / 'shared'}" in text
    assert "/nonexistent/blender) is not found" in text
