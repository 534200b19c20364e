"""The FFmpeg the bundled program carries: used for a bare `ffmpeg` unless `ffmpeg_exe` names one, and
trusted by the sandbox like a configured program. (The bundle itself is built and run in
tests/packaging/test_bundle.py.)"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from app.worker.bundled_ffmpeg import bundled_ffmpeg
from app.worker.config import WorkerConfig
from app.worker.find_exe import resolve_executable


@pytest.fixture
def bundle(tmp_path: Path, monkeypatch) -> Path:
    """A folder laid out like the bundle's library folder, with this process marked as frozen."""
    folder = tmp_path / "_internal"
    exe = folder / "ffmpeg" / "ffmpeg"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(folder), raising=False)
    return exe


def test_outside_a_bundle_there_is_none(tmp_path: Path) -> None:
    assert not getattr(sys, "frozen", False)
    assert bundled_ffmpeg() is None
    if shutil.which("ffmpeg"):
        assert resolve_executable("ffmpeg", WorkerConfig(data_dir=tmp_path)) == shutil.which("ffmpeg")


def test_a_bare_ffmpeg_is_the_bundles(bundle: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cfg = WorkerConfig(data_dir=tmp_path)
    assert bundled_ffmpeg() == str(bundle)
    assert resolve_executable("ffmpeg", cfg) == str(bundle)
    assert resolve_executable("FFmpeg.exe", cfg) == str(bundle)


def test_a_configured_ffmpeg_wins_over_the_bundles(bundle: Path, tmp_path: Path) -> None:
    cfg = WorkerConfig(data_dir=tmp_path, ffmpeg_exe="/opt/ffmpeg-7/bin/ffmpeg")
    assert resolve_executable("ffmpeg", cfg) == "/opt/ffmpeg-7/bin/ffmpeg"


def test_only_ffmpeg_comes_from_the_bundle(bundle: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    cfg = WorkerConfig(data_dir=tmp_path)
    with pytest.raises(Exception, match="blender_exe"):
        resolve_executable("blender", cfg)
    named = tmp_path / "my-ffmpeg"
    named.write_text("")
    assert resolve_executable(str(named), cfg) == str(named)


def test_a_bundle_without_its_ffmpeg_falls_back_to_path(bundle: Path, tmp_path: Path) -> None:
    bundle.unlink()
    assert bundled_ffmpeg() is None


def test_the_sandbox_trusts_the_bundled_ffmpeg(bundle: Path, tmp_path: Path) -> None:
    from app.worker.sandbox.confinement import Sandbox

    host = Sandbox(WorkerConfig(data_dir=tmp_path / "data"))._host()
    assert str(bundle) in host.configured_programs
