"""Tests for app.manager.checks.storage_check on real temporary folders."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.manager.checks import storage_check
from app.manager.checks.storage_check import approach_for_blendfile, check_storage
from app.manager.settings.variables import Variables


def test_usable_folder(tmp_path: Path) -> None:
    report = check_storage(str(tmp_path), shaman_enabled=True)
    assert report.is_usable
    assert report.path == str(tmp_path)
    assert report.cause
    assert report.free_bytes is not None and report.free_bytes > 0
    assert report.total_bytes is not None and report.total_bytes >= report.free_bytes
    # Linux temp folders allow both kinds of links, so Shaman can use symlinks.
    assert report.can_symlink and report.can_hardlink
    assert (report.approach, report.link_mode) == ("shaman", "symlink")
    assert report.warnings == ()


def test_check_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "existing.blend").write_bytes(b"BLENDER")
    check_storage(str(tmp_path), shaman_enabled=True)
    assert os.listdir(tmp_path) == ["existing.blend"]


def test_to_json_is_a_superset_of_path_check_result(tmp_path: Path) -> None:
    data = check_storage(str(tmp_path), shaman_enabled=False).to_json()
    assert {"path", "is_usable", "cause"} <= set(data)
    assert data["is_usable"] is True
    assert data["approach"] == "shared-or-copy"
    assert isinstance(data["warnings"], list)


def test_path_is_stripped_and_normalised(tmp_path: Path) -> None:
    report = check_storage(f"  {tmp_path}/./  ", shaman_enabled=False)
    assert report.is_usable
    assert report.path == str(tmp_path)


@pytest.mark.parametrize("path", ["", "   "])
def test_empty_path(path: str) -> None:
    report = check_storage(path, shaman_enabled=True)
    assert not report.is_usable
    assert "Enter the path" in report.cause
    assert report.approach == ""


@pytest.mark.parametrize("path", ["\\\\server\\share\\flamenco", "\\\\server\\share"])
def test_unc_path_is_refused(path: str) -> None:
    report = check_storage(path, shaman_enabled=True)
    assert not report.is_usable
    assert "UNC" in report.cause


def test_relative_path_is_refused() -> None:
    report = check_storage("some/relative/dir", shaman_enabled=True)
    assert not report.is_usable
    assert "not an absolute path" in report.cause


def test_missing_folder(tmp_path: Path) -> None:
    report = check_storage(str(tmp_path / "nope"), shaman_enabled=True)
    assert not report.is_usable
    assert "does not exist" in report.cause
    assert report.free_bytes is None


def test_a_file_is_not_a_folder(tmp_path: Path) -> None:
    file = tmp_path / "file.txt"
    file.write_text("x")
    report = check_storage(str(file), shaman_enabled=True)
    assert not report.is_usable
    assert "is a file, not a folder" in report.cause


def test_path_under_a_file(tmp_path: Path) -> None:
    # Not writable even for root: nothing can be created below a regular file.
    file = tmp_path / "file.txt"
    file.write_text("x")
    report = check_storage(str(file / "sub"), shaman_enabled=True)
    assert not report.is_usable
    assert "part of it is a file" in report.cause


def test_read_only_folder(tmp_path: Path) -> None:
    if hasattr(os, "geteuid") and os.geteuid() == 0 and Path("/sys/kernel").is_dir():
        # Root ignores permission bits; sysfs refuses new files even to root.
        report = check_storage("/sys/kernel", shaman_enabled=True)
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o555)
        try:
            report = check_storage(str(folder), shaman_enabled=True)
        finally:
            folder.chmod(0o755)
    assert not report.is_usable
    assert "not writable" in report.cause


def test_write_failure_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Tests run as root, which ignores permission bits; make the probe file fail instead.
    def refuse(*args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(storage_check.tempfile, "mkstemp", refuse)
    report = check_storage(str(tmp_path), shaman_enabled=True)
    assert not report.is_usable
    assert report.cause == f"{tmp_path} is not writable: Permission denied."


def test_the_managers_own_folder_is_refused(tmp_path: Path) -> None:
    report = check_storage(str(tmp_path), shaman_enabled=True, protected_dirs=[str(tmp_path)])
    assert not report.is_usable
    assert "Manager's own folder" in report.cause


def test_without_symlinks_shaman_uses_hard_links(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_symlink(*args: object, **kwargs: object) -> None:
        raise OSError(1314, "A required privilege is not held by the client")

    monkeypatch.setattr(storage_check.os, "symlink", no_symlink)
    report = check_storage(str(tmp_path), shaman_enabled=True)
    assert report.is_usable
    assert not report.can_symlink and report.can_hardlink
    assert (report.approach, report.link_mode) == ("shaman", "hardlink")
    assert "Developer Mode" in report.approach_text
    assert os.listdir(tmp_path) == []


def test_without_any_links_shaman_copies_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(storage_check.os, "symlink", refuse)
    monkeypatch.setattr(storage_check.os, "link", refuse)
    report = check_storage(str(tmp_path), shaman_enabled=True)
    assert report.is_usable
    assert not report.can_symlink and not report.can_hardlink
    assert (report.approach, report.link_mode) == ("shaman", "copy")
    assert any("copy every file" in w for w in report.warnings)


def test_links_do_not_matter_without_shaman(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage_check.os, "symlink", lambda *a: (_ for _ in ()).throw(OSError("no")))
    report = check_storage(str(tmp_path), shaman_enabled=False)
    assert (report.approach, report.link_mode) == ("shared-or-copy", "")
    assert report.warnings == ()


# ---------------------------------------------------------------- approach per blend file


def farm_variables(shaman: bool = False) -> Variables:
    return Variables(
        {
            "my_storage": {
                "is_twoway": True,
                "values": [
                    {"platform": "linux", "value": "/media/shared/flamenco"},
                    {"platform": "windows", "value": "S:\\flamenco"},
                    {"platform": "darwin", "value": "/Volumes/shared/flamenco"},
                ],
            }
        },
        shared_storage_path="/media/shared/flamenco",
        shaman_enabled=shaman,
        manager_platform="linux",
    )


def test_blend_file_on_the_shared_storage_is_used_in_place() -> None:
    v = farm_variables()
    assert approach_for_blendfile("S:\\flamenco\\shot\\a.blend", "windows", v, False) == "shared"
    assert approach_for_blendfile("s:/FLAMENCO/shot/a.blend", "windows", v, True) == "shared"
    assert approach_for_blendfile("/volumes/shared/flamenco/a.blend", "darwin", v, True) == "shared"
    assert approach_for_blendfile("/media/shared/flamenco/a.blend", "manager", v, True) == "shared"


def test_blend_file_elsewhere_is_copied_or_goes_through_shaman() -> None:
    v = farm_variables()
    assert approach_for_blendfile("C:\\WorkArea\\shot\\a.blend", "windows", v, False) == "copy"
    assert approach_for_blendfile("C:\\WorkArea\\shot\\a.blend", "windows", v, True) == "shaman"
    assert approach_for_blendfile("/media/shared/flamencoX/a.blend", "linux", v, False) == "copy"


def test_no_shared_storage_yet_means_never_in_place() -> None:
    v = Variables({}, shared_storage_path="", manager_platform="linux")
    assert approach_for_blendfile("/a.blend", "linux", v, False) == "copy"
