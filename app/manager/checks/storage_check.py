"""Checks of a candidate shared-storage folder, and the storage approach per job.

This module owns two decisions:

- `check_storage`: can this folder be the farm's shared storage? The setup
  wizard and `POST /api/v3/configuration/check/shared-storage` call it. It
  touches the disk (a probe file with non-ASCII text, a symlink and a hard
  link, all removed again), so async callers run it in an executor.
- `approach_for_blendfile`: which of the three storage approaches (seed
  "Shared Storage") a submitted blend file gets: rendered in place on the
  shared storage, copied into a folder per job, or uploaded through Shaman.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from app.common import crosspath
from app.manager.settings.variables import Variables

_log = logging.getLogger(__name__)

# Non-ASCII on purpose: a share mounted with the wrong character set accepts
# ASCII but mangles the names and texts of many artists' files.
_PROBE_TEXT = "Tablao storage check: ünïcødé ✓ 日本語 Ελληνικά\n"
_PROBE_NAME = "probe-ñ-日本.txt"
_PROBE_PREFIX = ".tablao-storage-check-"
MAX_PATH_BYTES = 4096  # PATH_MAX on Linux

Approach = Literal["shaman", "shared-or-copy", ""]
LinkMode = Literal["symlink", "hardlink", "copy", ""]
JobApproach = Literal["shared", "copy", "shaman"]


@dataclass(frozen=True)
class StorageReport:
    """The outcome of `check_storage`.

    `path`, `is_usable` and `cause` are the spec's PathCheckResult; the rest
    is Tablao's addition for the setup wizard. `approach` is `shaman`
    (checkouts made with `link_mode`: symlink, hardlink or copy) or
    `shared-or-copy` (a blend file inside the storage is rendered in place,
    any other is copied into a folder per job); empty when not usable.
    """

    path: str
    is_usable: bool
    cause: str
    free_bytes: int | None = None
    total_bytes: int | None = None
    can_symlink: bool = False
    can_hardlink: bool = False
    approach: Approach = ""
    link_mode: LinkMode = ""
    approach_text: str = ""
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "is_usable": self.is_usable,
            "cause": self.cause,
            "free_bytes": self.free_bytes,
            "total_bytes": self.total_bytes,
            "can_symlink": self.can_symlink,
            "can_hardlink": self.can_hardlink,
            "approach": self.approach,
            "link_mode": self.link_mode,
            "approach_text": self.approach_text,
            "warnings": list(self.warnings),
        }


class _Unusable(Exception):
    """Internal: the path failed a check; the message is the user-facing cause."""


def check_storage(path: str, shaman_enabled: bool, *, protected_dirs: Iterable[str] = ()) -> StorageReport:
    """Check whether `path` can serve as shared storage, as seen from this machine.

    `protected_dirs` are folders that must not be used (the Manager's own
    install folder). Never raises for a bad path; the report says what is wrong.
    """
    checked = path.strip()
    try:
        checked = _check_path(checked, protected_dirs)
        _check_writable(checked)
    except _Unusable as exc:
        _log.info("storage path rejected: %s", exc)
        return StorageReport(path=checked, is_usable=False, cause=str(exc))
    return _usable_report(checked, shaman_enabled)


def _check_path(path: str, protected_dirs: Iterable[str]) -> str:
    """Validate the text and the folder; returns the absolute, normalised path."""
    if not path:
        raise _Unusable("Enter the path of a folder that every computer of the farm can reach.")
    _check_text(path)
    if _is_unc(path):
        raise _Unusable(
            f"{path} is a network (UNC) path. Map the share to a drive letter (Windows) or mount it "
            "as a folder (Linux, macOS), and enter that path instead."
        )
    expanded = os.path.expanduser(path)
    if not os.path.isabs(expanded):
        raise _Unusable(
            f"{path} is not an absolute path; enter the full path, starting at the root or drive."
        )
    full = os.path.normpath(expanded)
    try:
        mode = os.stat(full).st_mode
    except FileNotFoundError:
        raise _Unusable(f"{full} does not exist; create the folder first.") from None
    except NotADirectoryError:
        raise _Unusable(f"{full} does not exist: part of it is a file, not a folder.") from None
    except OSError as exc:
        raise _Unusable(f"{full} cannot be accessed: {exc.strerror or exc}.") from None
    if not stat.S_ISDIR(mode):
        raise _Unusable(f"{full} is a file, not a folder.")
    if any(_same_dir(full, protected) for protected in protected_dirs):
        raise _Unusable(f"{full} is the Manager's own folder; choose a separate folder for shared storage.")
    return full


def _check_text(path: str) -> None:
    """Refuse what no file system call can take: NUL and other control characters, over-long text."""
    if any(ord(ch) < 32 for ch in path):
        raise _Unusable("The path contains control characters (a NUL or a line break, for example).")
    try:
        size = len(os.fsencode(path))
    except UnicodeError:
        raise _Unusable("The path contains characters that cannot be part of a file name here.") from None
    if size > MAX_PATH_BYTES:
        raise _Unusable(f"The path is longer than {MAX_PATH_BYTES} bytes.")


def _is_unc(path: str) -> bool:
    # `//server/share` is UNC only on Windows; elsewhere it is a legal POSIX path.
    if crosspath.current_platform() == crosspath.WINDOWS and path.startswith("//"):
        return True
    return crosspath.is_unc(path)


def _same_dir(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_writable(path: str) -> None:
    """Write, read back and remove a probe file with non-ASCII text."""
    try:
        fd, probe = tempfile.mkstemp(prefix=_PROBE_PREFIX, suffix=".txt", dir=path)
    except OSError as exc:
        raise _Unusable(f"{path} is not writable: {exc.strerror or exc}.") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(_PROBE_TEXT)
        with open(probe, encoding="utf-8") as back:
            if back.read() != _PROBE_TEXT:
                raise _Unusable(
                    f"{path} does not store text faithfully: what was written came back different."
                )
    except OSError as exc:
        raise _Unusable(f"{path} is not writable: {exc.strerror or exc}.") from None
    finally:
        _remove(probe)


def _usable_report(path: str, shaman_enabled: bool) -> StorageReport:
    free, total = _disk_usage(path)
    can_symlink, can_hardlink, warnings = _probe_links_and_names(path)
    approach, link_mode, text, more = _approach(shaman_enabled, can_symlink, can_hardlink)
    return StorageReport(
        path=path,
        is_usable=True,
        cause="This folder can be used as shared storage.",
        free_bytes=free,
        total_bytes=total,
        can_symlink=can_symlink,
        can_hardlink=can_hardlink,
        approach=approach,
        link_mode=link_mode,
        approach_text=text,
        warnings=tuple(warnings + more),
    )


def _disk_usage(path: str) -> tuple[int | None, int | None]:
    try:
        usage = shutil.disk_usage(path)
    except OSError:
        return None, None
    return usage.free, usage.total


def _probe_links_and_names(path: str) -> tuple[bool, bool, list[str]]:
    """Try a symlink, a hard link and a non-ASCII file name in a scratch folder."""
    warnings: list[str] = []
    try:
        scratch = tempfile.mkdtemp(prefix=_PROBE_PREFIX, dir=path)
    except OSError as exc:
        return False, False, [f"could not test links: {exc.strerror or exc}"]
    try:
        target = os.path.join(scratch, "target.txt")
        with open(target, "w", encoding="utf-8") as out:
            out.write(_PROBE_TEXT)
        can_symlink = _try_link(os.symlink, target, os.path.join(scratch, "symlink.txt"))
        can_hardlink = _try_link(os.link, target, os.path.join(scratch, "hardlink.txt"))
        if not _try_name(os.path.join(scratch, _PROBE_NAME)):
            warnings.append("file names with non-ASCII characters cannot be stored here")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return can_symlink, can_hardlink, warnings


def _try_link(make_link: Any, target: str, link: str) -> bool:
    # Some network file systems accept the call but give back a link that
    # cannot be read, so the link only counts when reading through it works.
    try:
        make_link(target, link)
        with open(link, encoding="utf-8") as back:
            return back.read() == _PROBE_TEXT
    except (OSError, NotImplementedError) as exc:
        _log.debug("%s not possible: %s", getattr(make_link, "__name__", "link"), exc)
        return False


def _try_name(name: str) -> bool:
    try:
        with open(name, "w", encoding="utf-8") as out:
            out.write(_PROBE_TEXT)
        return os.path.basename(name) in os.listdir(os.path.dirname(name))
    except (OSError, UnicodeError):
        return False


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError as exc:
        _log.warning("could not remove storage probe %s: %s", path, exc)


def _approach(
    shaman_enabled: bool, can_symlink: bool, can_hardlink: bool
) -> tuple[Approach, LinkMode, str, list[str]]:
    if not shaman_enabled:
        text = (
            "Blend files already inside this folder are rendered where they are; "
            "any other blend file is copied into a new folder here for each job."
        )
        return "shared-or-copy", "", text, []
    if can_symlink:
        return (
            "shaman",
            "symlink",
            "Shaman: files are uploaded once and each job gets a checkout of symbolic links.",
            [],
        )
    if can_hardlink:
        text = (
            "Shaman: symbolic links are not allowed here (on Windows, Developer Mode allows them), "
            "so job checkouts use hard links."
        )
        return "shaman", "hardlink", text, []
    warning = (
        "neither symbolic nor hard links work here: Shaman will copy every file into each job's checkout, "
        "which costs disk space and time; consider turning Shaman off"
    )
    return (
        "shaman",
        "copy",
        "Shaman: job checkouts are made of copies, because links do not work here.",
        [warning],
    )


def approach_for_blendfile(
    blendfile: str, submitter_platform: str, variables: Variables, shaman_enabled: bool
) -> JobApproach:
    """Which storage approach a submitted blend file gets.

    A file already inside the shared storage, as the submitter's platform
    sees it (two-way variables translate the path), is rendered in place
    (`shared`). Otherwise it goes through Shaman when that is on, or is copied
    into a folder per job.
    """
    storage = variables.shared_storage_for("users", submitter_platform)
    platform = crosspath.resolve_platform(submitter_platform, variables.manager_platform)
    if storage and crosspath.is_under(blendfile, storage, platform):
        return "shared"
    return "shaman" if shaman_enabled else "copy"
