"""The parts of packaging/build.py that need no build: the tar.gz is the same bytes for the same files
whatever their times and owners on the build machine, and the desktop entry and AppStream metadata a
package installs are valid. Fast; tests/packaging/test_bundle.py builds and tries the real downloads."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def build():
    spec = importlib.util.spec_from_file_location("packaging_build", REPO / "packaging" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _stage(root: Path, mtime: int) -> Path:
    stage = root / "tablao-1.2.3"
    (stage / "bin").mkdir(parents=True)
    (stage / "bin" / "tablao").write_text("#!/bin/sh\n")
    (stage / "bin" / "tablao").chmod(0o700)
    (stage / "README.txt").write_text("read me\n")
    (stage / "README.txt").chmod(0o600)
    for path in [stage, *stage.rglob("*")]:
        os.utime(path, (mtime, mtime))
    return stage


def test_the_tar_is_the_same_bytes_whatever_the_files_times_and_modes(build, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    first = build.pack_tar(_stage(tmp_path / "a", 1_000_000_000), tmp_path / "a" / "t.tar.gz")
    second = build.pack_tar(_stage(tmp_path / "b", 1_700_000_000), tmp_path / "b" / "t.tar.gz")
    assert first.read_bytes() == second.read_bytes()
    with tarfile.open(first) as tar:
        members = {m.name: m for m in tar.getmembers()}
    assert sorted(members) == ["tablao-1.2.3", "tablao-1.2.3/README.txt", "tablao-1.2.3/bin",
                               "tablao-1.2.3/bin/tablao"]
    assert {(m.uid, m.gid, m.uname, m.mtime) for m in members.values()} == {(0, 0, "", 1767225600)}
    assert members["tablao-1.2.3/bin/tablao"].mode == 0o755 and members["tablao-1.2.3/README.txt"].mode == 0o644


def test_the_desktop_entry_and_metainfo_a_package_installs_are_valid(build, tmp_path):
    share = tmp_path / "share"
    build.add_desktop_files(share, "1.2.3", "/opt/tablao/tablao")
    desktop = share / "applications" / f"{build.APP_ID}.desktop"
    metainfo = share / "metainfo" / f"{build.APP_ID}.metainfo.xml"
    assert "Exec=/opt/tablao/tablao" in desktop.read_text() and "@" not in desktop.read_text()
    assert 'version="1.2.3"' in metainfo.read_text() and "@" not in metainfo.read_text()
    for size in build.ICON_SIZES:
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{build.APP_ID}.png").is_file()
    if shutil.which("desktop-file-validate"):
        check = subprocess.run(["desktop-file-validate", str(desktop)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
    if shutil.which("appstreamcli"):
        check = subprocess.run(["appstreamcli", "validate", "--no-net", str(metainfo)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr


def test_a_build_environment_left_without_pip_is_made_again(build, tmp_path: Path) -> None:
    """An interrupted first build can leave build/packaging-venv with a Python and no pip; every later
    build then failed on `pip install`. Such an environment is not taken as ready."""
    import sys

    half_made = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", half_made], check=True)
    assert (half_made / "bin" / "python").exists()
    assert not build._has_pip(half_made / "bin" / "python")
    assert not build._has_pip(tmp_path / "missing" / "bin" / "python")
    assert build._has_pip(Path(sys.executable))
