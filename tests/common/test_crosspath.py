"""Tests for app.common.crosspath: Windows and POSIX paths as text on any OS."""

from __future__ import annotations

import pytest

from app.common import crosspath as cp


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("linux", "linux"),
        ("Linux", "linux"),
        ("macos", "darwin"),
        ("macOS", "darwin"),
        ("darwin", "darwin"),
        ("win32", "windows"),
        ("win", "windows"),
        ("Windows", "windows"),
        ("freebsd", "freebsd"),
        ("manager", "manager"),
    ],
)
def test_normalise_platform_folds_aliases(name: str, expected: str) -> None:
    assert cp.normalise_platform(name) == expected


def test_resolve_platform_turns_manager_into_the_managers_os() -> None:
    assert cp.resolve_platform("manager", "windows") == "windows"
    assert cp.resolve_platform("manager") == cp.current_platform()
    assert cp.resolve_platform("macos", "linux") == "darwin"


def test_case_insensitive_platforms() -> None:
    assert cp.is_case_insensitive("windows")
    assert cp.is_case_insensitive("macos")
    assert not cp.is_case_insensitive("linux")


@pytest.mark.parametrize(
    ("path", "style"),
    [
        ("/media/shared", cp.PathStyle.POSIX),
        ("relative/dir", cp.PathStyle.POSIX),
        ("S:\\flamenco", cp.PathStyle.WINDOWS),
        ("S:/flamenco", cp.PathStyle.WINDOWS),
        ("S:", cp.PathStyle.WINDOWS),
        ("\\\\server\\share", cp.PathStyle.WINDOWS),
        ("dir\\file", cp.PathStyle.WINDOWS),
    ],
)
def test_detect_style(path: str, style: cp.PathStyle) -> None:
    assert cp.detect_style(path) is style


def test_backslash_is_a_file_name_character_on_posix_platforms() -> None:
    assert cp.split("/a/b\\c", "linux").parts == ("a", "b\\c")
    assert cp.split("/a/b\\c", "windows").parts == ("a", "b", "c")


def test_split_drive_and_mixed_separators() -> None:
    s = cp.split("S:/flamenco\\shot\\", "windows")
    assert (s.anchor, s.parts, s.trailing_separator) == ("S:", ("flamenco", "shot"), True)


def test_split_unc() -> None:
    s = cp.split("\\\\server\\share\\flamenco\\shot\\file.blend")
    assert s.anchor == "\\\\server\\share"
    assert s.parts == ("flamenco", "shot", "file.blend")


def test_split_keeps_dotdot_and_drops_dot() -> None:
    assert cp.split("/a/./b/../c").parts == ("a", "b", "..", "c")


def test_leading_double_slash_is_its_own_anchor_on_posix() -> None:
    # Blender's `//` relative prefix must not look like an absolute `/` path.
    assert cp.split("//render/out", "linux").anchor == "//"
    assert not cp.is_under("//render/out", "/render", "linux")


@pytest.mark.parametrize(
    ("path", "platform", "expected"),
    [
        ("S:/flamenco/shot", "windows", "S:\\flamenco\\shot"),
        ("S:", "windows", "S:\\"),
        ("S:flamenco", "windows", "S:\\flamenco"),
        ("S:\\flamenco", "windows", "S:\\flamenco"),
        ("//server/share/x", "windows", "\\\\server\\share\\x"),
        ("\\\\server\\share\\x", "linux", "//server/share/x"),
        ("/media/shared/x", "linux", "/media/shared/x"),
        ("/media/shared/x", "win32", "\\media\\shared\\x"),
        ("a\\b/c", "darwin", "a/b/c"),
    ],
)
def test_to_platform(path: str, platform: str, expected: str) -> None:
    assert cp.to_platform(path, platform) == expected


@pytest.mark.parametrize(
    ("path", "platform", "expected"),
    [
        ("/media//x/./y/", "linux", "/media/x/y/"),
        ("S:/flamenco\\\\shot", "windows", "S:\\flamenco\\shot"),
        ("S:/flamenco\\\\shot", None, "S:\\flamenco\\shot"),
        ("\\\\server\\share", "linux", "//server/share"),
        ("S:", "windows", "S:\\"),
        ("/", "linux", "/"),
    ],
)
def test_normalise(path: str, platform: str | None, expected: str) -> None:
    assert cp.normalise(path, platform) == expected


@pytest.mark.parametrize(
    ("path", "expected"),
    [("/a/b/", "/a/b"), ("S:\\x\\\\", "S:\\x"), ("/", "/"), ("S:\\", "S:"), ("", "")],
)
def test_trim_trailing_separators(path: str, expected: str) -> None:
    assert cp.trim_trailing_separators(path) == expected


def test_join_platform_puts_one_separator_between() -> None:
    assert cp.join_platform("S:", "shot/a.blend", "windows") == "S:\\shot\\a.blend"
    assert cp.join_platform("S:\\flamenco", "shot/a.blend", "windows") == "S:\\flamenco\\shot\\a.blend"
    assert cp.join_platform("/", "shot/a.blend", "linux") == "/shot/a.blend"
    assert cp.join_platform("/media/x/", "/shot", "linux") == "/media/x/shot"
    assert cp.join_platform("S:", "", "windows") == "S:\\"


def test_relative_to_matches_whole_components_only() -> None:
    assert cp.relative_to("/Volumes/shared/flamenco/shot", "/Volumes/shared/flamenco", "darwin") == "shot"
    assert cp.relative_to("/Volumes/shared/flamencoX/shot", "/Volumes/shared/flamenco", "darwin") is None
    assert cp.relative_to("/Volumes/shared/flamenco", "/Volumes/shared/flamenco", "darwin") == ""


def test_relative_to_ignores_case_only_where_the_platform_does() -> None:
    assert cp.relative_to("/volumes/SHARED/flamenco/Shot", "/Volumes/shared/flamenco", "darwin") == "Shot"
    assert cp.relative_to("/volumes/SHARED/flamenco/Shot", "/Volumes/shared/flamenco", "linux") is None
    assert cp.relative_to("s:\\FLAMENCO\\Shot", "S:\\flamenco", "windows") == "Shot"


def test_relative_to_with_mixed_separators_drive_and_unc() -> None:
    assert cp.relative_to("S:/flamenco\\shot\\a.blend", "S:\\flamenco", "windows") == "shot/a.blend"
    assert cp.relative_to("S:\\shot\\a.blend", "S:", "windows") == "shot/a.blend"
    assert cp.relative_to("T:\\flamenco\\a", "S:\\flamenco", "windows") is None
    unc = "\\\\SERVER\\Share\\flamenco\\shot\\file.blend"
    assert cp.relative_to(unc, "\\\\server\\share\\flamenco", "windows") == "shot/file.blend"
    assert cp.relative_to(unc, "\\\\server\\other", "windows") is None


def test_relative_to_keeps_a_trailing_separator() -> None:
    assert cp.relative_to("/a/b/out/", "/a/b", "linux") == "out/"


def test_relative_to_without_platform_guesses_from_the_path() -> None:
    assert cp.is_under("s:\\Flamenco\\x", "S:/flamenco")
    assert not cp.is_under("/media/Shared/x", "/media/shared")
    assert not cp.is_under("/media/shared/x", "S:\\media\\shared")


def test_is_absolute() -> None:
    assert cp.is_absolute("/x")
    assert cp.is_absolute("S:\\x")
    assert cp.is_absolute("\\\\server\\share")
    assert not cp.is_absolute("x/y")


# ---------------------------------------------------------------- PathExpander


def make_expander(platform: str, source_platform: str = "linux") -> cp.PathExpander:
    values = {"linux": "/mnt/nas", "windows": "\\\\nas\\share", "darwin": "/Volumes/nas"}
    return cp.PathExpander(
        one_way={"blender": "blender", "jobs": values[source_platform] + "/jobs"},
        two_way={"nas": values[platform]},
        rewrites=[(values[source_platform], values[platform])],
        platform=platform,
        source_platform=source_platform,
    )


def test_expander_two_way_reference_and_source_prefix() -> None:
    e = make_expander("windows")
    assert e.expand("{nas}/a/b.blend") == "\\\\nas\\share\\a\\b.blend"
    assert e.expand("{jobs}/x.blend") == "\\\\nas\\share\\jobs\\x.blend"
    assert e.expand("{blender} {other}") == "blender {other}"


def test_expander_case_insensitive_source_platform() -> None:
    e = make_expander("linux", source_platform="darwin")
    assert e.expand("/volumes/NAS/a") == "/mnt/nas/a"
    assert make_expander("darwin").expand("/MNT/nas/a") == "/MNT/nas/a"


def test_expander_expand_value_copies_containers() -> None:
    e = make_expander("linux", source_platform="windows")
    value = ["{nas}\\a", {"k": ("tuple", "kept")}, 3]
    out = e.expand_value(value)
    assert out == ["/mnt/nas/a", {"k": ("tuple", "kept")}, 3]
    assert out is not value and out[1] is not value[1]
