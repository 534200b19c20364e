"""Windows and POSIX paths handled as text, on any OS.

This module owns the path arithmetic that crosses platforms, and the
platform path variables built on it (`PathExpander`): the Manager may
run on Linux while an artist submits from Windows and a Worker renders on
macOS, so `os.path` (which only knows the local OS) cannot be used. Everything
here is a pure function on strings; nothing touches the file system.

Vocabulary:
- *platform*: a lowercase GOOS-like name (`linux`, `windows`, `darwin`, or any
  other string such as `freebsd`). `manager` means "the Manager's own OS" and is
  resolved with `resolve_platform`. Aliases (`macos`, `win32`, ...) are folded
  by `normalise_platform`.
- *style*: how a path is spelled, `PathStyle.WINDOWS` (drive letters, UNC,
  backslashes) or `PathStyle.POSIX`.
- *anchor*: what makes a path absolute: `/`, `//`, a drive `S:`, a UNC share
  `\\\\server\\share`, or `""` for a relative path.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

_log = logging.getLogger(__name__)

LINUX = "linux"
WINDOWS = "windows"
DARWIN = "darwin"
MANAGER = "manager"

_ALIASES = {
    "win": WINDOWS,
    "win32": WINDOWS,
    "win64": WINDOWS,
    "cygwin": WINDOWS,
    "macos": DARWIN,
    "mac": DARWIN,
    "osx": DARWIN,
    "macosx": DARWIN,
    "linux2": LINUX,
}

# Both Windows and the default macOS file system (APFS/HFS+) ignore case.
_CASE_INSENSITIVE = frozenset({WINDOWS, DARWIN})

_KNOWN = frozenset({LINUX, WINDOWS, DARWIN})

_DRIVE_RE = re.compile(r"^[A-Za-z]:")
# A drive letter not followed by a separator: `S:` or `S:foo`.
_BARE_DRIVE_RE = re.compile(r"^([A-Za-z]:)(?![\\/])")


class PathStyle(StrEnum):
    POSIX = "posix"
    WINDOWS = "windows"


@dataclass(frozen=True)
class SplitPath:
    """A path taken apart: `anchor` plus the non-empty components in `parts`.

    `.` components are dropped; `..` is kept as written, because resolving it
    without the file system would be a guess (symlinks).
    """

    anchor: str
    parts: tuple[str, ...]
    style: PathStyle
    trailing_separator: bool = False


# ---------------------------------------------------------------- platforms


def normalise_platform(name: str) -> str:
    """Lowercase and fold aliases: `macOS` → `darwin`, `Win32` → `windows`.

    Unknown names pass through lowercased, since platform names are free
    GOOS-like strings (`freebsd` is fine). `manager` stays `manager`.
    """
    folded = name.strip().lower()
    return _ALIASES.get(folded, folded)


def current_platform() -> str:
    """The platform name of the OS this process runs on."""
    if sys.platform.startswith("win"):
        return WINDOWS
    if sys.platform == "darwin":
        return DARWIN
    if sys.platform.startswith("linux"):
        return LINUX
    return normalise_platform(sys.platform)


def resolve_platform(name: str, manager_platform: str | None = None) -> str:
    """Normalise `name`, turning `manager` into the Manager's platform.

    Without `manager_platform` the Manager is assumed to be this process.
    """
    if name in _KNOWN:
        return name  # Fast path: expansion calls this for every converted path.
    platform = normalise_platform(name)
    if platform != MANAGER:
        return platform
    return normalise_platform(manager_platform) if manager_platform else current_platform()


def is_case_insensitive(platform: str) -> bool:
    """Whether paths on `platform` compare without regard to case."""
    return resolve_platform(platform) in _CASE_INSENSITIVE


def style_for_platform(platform: str) -> PathStyle:
    return PathStyle.WINDOWS if resolve_platform(platform) == WINDOWS else PathStyle.POSIX


# ---------------------------------------------------------------- inspecting


def has_drive(path: str) -> bool:
    """`S:`, `S:\\x` or `S:/x`."""
    return bool(_DRIVE_RE.match(path))


def is_unc(path: str) -> bool:
    """`\\\\server\\share...`; forward slashes count too when a backslash shows
    the path is Windows-style (`//server/share\\x`), because `//x` alone is a
    legal POSIX path."""
    if path.startswith("\\\\"):
        return True
    return path.startswith("//") and not path.startswith("///") and "\\" in path


def detect_style(path: str) -> PathStyle:
    """Guess the style of a path with no platform known.

    A drive letter, a UNC prefix or any backslash means Windows; POSIX file
    names may legally contain backslashes, but in practice they do not.
    """
    if has_drive(path) or is_unc(path) or "\\" in path:
        return PathStyle.WINDOWS
    return PathStyle.POSIX


def style_of(path: str, platform: str | None = None) -> PathStyle:
    """The style `path` is written in, as seen from `platform`.

    On Windows every path is Windows-style. On a POSIX platform only a drive
    letter or a UNC prefix makes it Windows-style; a lone backslash is then
    part of a file name. With no platform, `detect_style` guesses.
    """
    if platform is None:
        return detect_style(path)
    if style_for_platform(platform) is PathStyle.WINDOWS:
        return PathStyle.WINDOWS
    if has_drive(path) or path.startswith("\\\\"):
        return PathStyle.WINDOWS
    return PathStyle.POSIX


def is_absolute(path: str, platform: str | None = None) -> bool:
    return split(path, platform).anchor != ""


# ---------------------------------------------------------------- splitting


def split(path: str, platform: str | None = None) -> SplitPath:
    """Take `path` apart into anchor and components (see `SplitPath`)."""
    style = style_of(path, platform)
    if style is PathStyle.WINDOWS:
        return _split_windows(path)
    return _split_posix(path)


def _components(text: str, separators: str) -> tuple[tuple[str, ...], bool]:
    if len(separators) > 1:
        text = text.replace(separators[1], separators[0])
    pieces = text.split(separators[0])
    parts = tuple(p for p in pieces if p and p != ".")
    trailing = bool(parts) and text.endswith(separators[0])
    return parts, trailing


def _split_windows(path: str) -> SplitPath:
    text = path.replace("/", "\\")
    if text.startswith("\\\\"):
        # UNC: the server and share together act like a drive letter.
        parts, trailing = _components(text[2:], "\\")
        anchor = "\\\\" + "\\".join(parts[:2])
        return SplitPath(anchor, parts[2:], PathStyle.WINDOWS, trailing and len(parts) > 2)
    if _DRIVE_RE.match(text):
        # `S:foo` (drive-relative) is treated as `S:\foo`: nobody means the
        # per-drive current directory in a render-farm setting.
        parts, trailing = _components(text[2:], "\\")
        return SplitPath(text[:2], parts, PathStyle.WINDOWS, trailing)
    anchor = "\\" if text.startswith("\\") else ""
    parts, trailing = _components(text, "\\")
    return SplitPath(anchor, parts, PathStyle.WINDOWS, trailing)


def _split_posix(path: str) -> SplitPath:
    if path.startswith("//") and not path.startswith("///"):
        anchor = "//"  # POSIX leaves a leading `//` implementation-defined; keep it distinct.
    elif path.startswith("/"):
        anchor = "/"
    else:
        anchor = ""
    parts, trailing = _components(path, "/")
    return SplitPath(anchor, parts, PathStyle.POSIX, trailing)


def join_split(split_path: SplitPath, style: PathStyle | None = None) -> str:
    """Put a `SplitPath` back together in `style` (default: its own)."""
    style = style or split_path.style
    sep = "\\" if style is PathStyle.WINDOWS else "/"
    anchor = split_path.anchor.replace("\\", "/").replace("/", sep)
    body = sep.join(split_path.parts)
    if split_path.trailing_separator and body:
        body += sep
    if _DRIVE_RE.match(anchor):
        return anchor + sep + body  # `S:` alone means the drive's root, `S:\`.
    if len(anchor) > 2:
        # A UNC share: `\\server\share` needs a separator before the body.
        return anchor + sep + body if body else anchor
    return anchor + body


def normalise(path: str, platform: str | None = None) -> str:
    """Collapse duplicate separators, drop `.` components and spell the path
    with the separators of `platform` (default: the path's own style)."""
    style = style_for_platform(platform) if platform else None
    return join_split(split(path, platform), style)


# ---------------------------------------------------------------- converting


def to_platform(path: str, platform: str) -> str:
    """Spell `path` with the separators of `platform`.

    Windows: `/` → `\\`, and a bare drive `S:` or `S:foo` gets its root
    (`S:\\`, `S:\\foo`). Elsewhere: `\\` → `/`. Nothing else changes, so the
    result keeps duplicate separators, `..`, and the text case.
    """
    if style_for_platform(platform) is PathStyle.WINDOWS:
        converted = path.replace("/", "\\")
        if _BARE_DRIVE_RE.match(converted):
            return converted[:2] + "\\" + converted[2:]
        return converted
    return path.replace("\\", "/")


def trim_trailing_separators(path: str) -> str:
    """`/a/b/` → `/a/b`, `S:\\x\\` → `S:\\x`, but `/` stays `/`.

    `S:\\` becomes `S:`; `to_platform(…, "windows")` gives the root back.
    """
    trimmed = path.rstrip("/\\")
    if trimmed:
        return trimmed
    return path[:1] if path else path


def join_platform(base: str, rest: str, platform: str) -> str:
    """`base` plus a `/`-separated `rest`, spelled for `platform`.

    One separator goes between them, whatever `base` ends with.
    """
    if not rest:
        return to_platform(base, platform)
    sep = "\\" if style_for_platform(platform) is PathStyle.WINDOWS else "/"
    rest = rest.lstrip("/\\")
    if base.endswith(("/", "\\")):
        return to_platform(base + rest, platform)
    return to_platform(base + sep + rest, platform)


# ---------------------------------------------------------------- prefixes


def _fold(parts: tuple[str, ...], case_insensitive: bool) -> tuple[str, ...]:
    return tuple(p.casefold() for p in parts) if case_insensitive else parts


def _anchors_equal(a: SplitPath, b: SplitPath, case_insensitive: bool) -> bool:
    if a.style is PathStyle.WINDOWS and b.style is PathStyle.WINDOWS:
        # Drive letters and UNC server/share names never care about case.
        return a.anchor.casefold() == b.anchor.casefold()
    if case_insensitive:
        return a.anchor.casefold() == b.anchor.casefold()
    return a.anchor == b.anchor


def relative_to(path: str, prefix: str, platform: str | None = None) -> str | None:
    """The part of `path` below `prefix`, with `/` separators, or None.

    Matching is by whole components (`/a/bc` is not under `/a/b`), ignores
    case where `platform` does (Windows, macOS; without a platform only for
    Windows-style paths), and accepts either separator for Windows-style
    paths. Returns `""` when the two are the same path.
    """
    p = split(path, platform)
    q = split(prefix, platform)
    case_insensitive = is_case_insensitive(platform) if platform else p.style is PathStyle.WINDOWS
    if not _anchors_equal(p, q, case_insensitive):
        return None
    n = len(q.parts)
    if len(p.parts) < n or _fold(p.parts[:n], case_insensitive) != _fold(q.parts, case_insensitive):
        return None
    rest = "/".join(p.parts[n:])
    if rest and p.trailing_separator:
        rest += "/"
    return rest


def is_under(path: str, prefix: str, platform: str | None = None) -> bool:
    """Whether `path` is `prefix` or lies below it (see `relative_to`)."""
    return relative_to(path, prefix, platform) is not None


# ---------------------------------------------------------------- variable expansion

_MEMO_SIZE = 8192

# What follows a two-way path inside a longer string and belongs to it: runs of
# anything but whitespace and quotes, plus inner spaces as long as the next
# word does not look like a CLI option (`-x`), a quote or another variable.
# Only this tail gets its separators converted, so `pad=ceil(iw/2)*2` in the
# same ffmpeg argument string stays intact. (Flamenco converts the whole string.)
_TAIL = r"""(?P<tail>(?:[^\s"'{]+|BRACE|\s+(?=[^\s"'{-]))*)"""


class PathExpander:
    """`{name}` expansion and two-way path translation for one target platform.

    Built once per target platform (regexes compiled up front). For each
    string: (1) `{name}` of a `one_way` variable becomes its value; (2)
    `{name}` of a `two_way` variable becomes its target value, and (3) a path
    that starts with one of the `rewrites` source values (at the start of the
    string or of a word, e.g. after a one-way `{jobs}` was expanded) gets that
    prefix swapped for the paired target value, on whole components only and
    ignoring case where `source_platform` does. Steps 2 and 3 run in one regex
    pass, so a rewritten path is never rewritten again. Where 2 or 3 applied,
    the path's separators follow `platform` (backslashes and `S:\\` on
    Windows). Unknown `{names}` stay as they are.
    """

    def __init__(
        self,
        one_way: Mapping[str, str],
        two_way: Mapping[str, str],
        rewrites: Iterable[tuple[str, str]],
        platform: str,
        source_platform: str,
    ):
        self.platform = resolve_platform(platform)
        self._windows = style_for_platform(platform) is PathStyle.WINDOWS
        self._one_way = dict(one_way)
        self._two_way = dict(two_way)
        self._source_ci = is_case_insensitive(source_platform)
        self._source_windows = style_for_platform(source_platform) is PathStyle.WINDOWS
        self._rewrites: dict[str, str] = {}
        sources: list[str] = []
        for source, target in rewrites:
            if source:
                self._rewrites.setdefault(self._key(source), target)
                sources.append(source)
        self._one_way_re = _names_re(self._one_way)
        self._two_way_re = self._compile(sources)
        self._needles = {self._needle(source) for source in sources}
        self._memo: dict[str, str] = {}

    def _needle(self, prefix: str) -> str:
        needle = max(re.split(r"[\\/]+", prefix), key=len)
        return needle.lower() if self._source_ci else needle

    def _key(self, prefix: str) -> str:
        key = re.sub(r"[\\/]+", "/", prefix)
        return key.lower() if self._source_ci else key

    def _compile(self, sources: list[str]) -> re.Pattern[str] | None:
        alternatives = []
        names = _names_alternation(self._two_way)
        if names:
            alternatives.append(rf"\{{(?P<var>{names})\}}")
        if sources:
            flags = "?i:" if self._source_ci else "?:"
            ordered = sorted(set(sources), key=len, reverse=True)
            paths = "|".join(_prefix_pattern(p, self._source_windows) for p in ordered)
            # Only at the start of the string or of a word (after space, quote or `=`),
            # and only up to a component boundary.
            alternatives.append(rf"""(?<![^\s"'=])(?P<src>({flags}{paths}))(?:(?<=[\\/])|(?=[\\/\s"']|$))""")
        if not alternatives:
            return None
        # Inside a tail a `{` is plain text, unless it starts another two-way reference.
        brace = rf"\{{(?!(?:{names})\}})" if names else r"\{"
        return re.compile("(?:" + "|".join(alternatives) + ")" + _TAIL.replace("BRACE", brace))

    def expand(self, text: str) -> str:
        # Tasks of one job repeat the same strings (`{blender}`, the blend file),
        # so a memo turns most expansions into one dict lookup.
        done = self._memo.get(text)
        if done is not None:
            return done
        done = self._expand(text)
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[text] = done
        return done

    def expand_value(self, value: Any) -> Any:
        """A copy of `value` with every string expanded, also inside lists and mappings."""
        if type(value) is str or isinstance(value, str):
            return self.expand(value)
        if isinstance(value, list):
            return [self.expand_value(item) for item in value]
        if isinstance(value, Mapping):
            return {key: self.expand_value(item) for key, item in value.items()}
        return value  # Numbers, booleans and None are immutable: sharing them is a copy.

    def _expand(self, text: str) -> str:
        if self._one_way_re is not None and "{" in text:
            text = self._one_way_re.sub(self._one_way_sub, text)
        if self._two_way_re is not None and self._may_match(text):
            text = self._two_way_re.sub(self._two_way_sub, text)
        return text

    def _may_match(self, text: str) -> bool:
        """Cheap pre-check before the regex: a `{` or a source prefix's longest word."""
        if "{" in text:
            return True
        if not self._needles:
            return False
        haystack = text.lower() if self._source_ci else text
        return any(needle in haystack for needle in self._needles)

    def _one_way_sub(self, match: re.Match[str]) -> str:
        return self._one_way[match.group(1)]

    def _two_way_sub(self, match: re.Match[str]) -> str:
        name = match.group("var")
        if name is not None:
            value = self._two_way[name]
        else:
            found = self._rewrites.get(self._key(match.group("src")))
            if found is None:
                return match.group(0)
            value = found
        return self._convert(value, match.group("tail"))

    def _convert(self, value: str, tail: str) -> str:
        if value.endswith(("/", "\\")) and tail.startswith(("/", "\\")):
            tail = tail[1:]  # A root value (`/`) must not double the separator.
        if self._windows:
            return to_platform(value + tail, WINDOWS)
        return value + tail.replace("\\", "/")


def _names_alternation(names: Iterable[str]) -> str:
    # The braces delimit names, so order only matters for a stable pattern.
    return "|".join(re.escape(name) for name in sorted(names, key=len, reverse=True))


def _names_re(names: Iterable[str]) -> re.Pattern[str] | None:
    alternation = _names_alternation(names)
    return re.compile(rf"\{{({alternation})\}}") if alternation else None


def _prefix_pattern(prefix: str, windows: bool) -> str:
    """Regex for a source-platform value. On Windows either separator counts,
    and a run of them (a UNC `\\\\`) needs at least as many in the text."""
    if not windows:
        return re.escape(prefix)
    pieces = re.split(r"([\\/]+)", prefix)
    return "".join(
        rf"[\\/]{{{len(piece)},}}" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces)
    )
