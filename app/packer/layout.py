"""What to pack and where it goes: the storage approach, the project root and relative paths.

The three approaches of the shared-storage guide, decided from the blend file's location and the
Manager's `SharedStorageLocation`:

1. the blend file is already on the shared storage: render it in place, copy nothing;
2. otherwise, with Shaman enabled: upload what the Manager lacks and request a checkout;
3. otherwise: copy blend file and dependencies into a fresh per-job folder on the shared storage.
"""

from __future__ import annotations

import os
import re
import sys
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path, PurePosixPath
from typing import Any


class PackError(Exception):
    """Packing cannot go on; the message says why in words a user can act on."""


class Approach(StrEnum):
    IN_PLACE = "in-place"
    SHAMAN = "shaman"
    COPY = "copy"


@dataclass(frozen=True, slots=True)
class SharedStorage:
    """The Manager's `SharedStorageLocation`: the storage path as seen from this platform."""

    location: str
    audience: str = "users"
    platform: str = ""
    shaman_enabled: bool = False

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SharedStorage:
        try:
            return cls(
                str(doc["location"]), str(doc["audience"]), str(doc["platform"]), bool(doc["shamanEnabled"])
            )
        except KeyError as exc:
            raise PackError(f"the Manager's shared storage answer lacks {exc}") from None


@dataclass(frozen=True, slots=True)
class PackFile:
    """One file to pack: where it is here, and its POSIX path relative to the project root."""

    path: Path
    relpath: PurePosixPath


def decide_approach(blendfile: Path, storage: SharedStorage) -> Approach:
    if storage.location and is_under(blendfile, Path(storage.location)):
        return Approach.IN_PLACE
    return Approach.SHAMAN if storage.shaman_enabled else Approach.COPY


def is_under(path: Path, directory: Path) -> bool:
    """True when `path` is inside `directory`, after resolving symlinks, ignoring case where the OS does."""
    try:
        resolved, base = path.resolve(), directory.resolve()
    except OSError:
        return False
    # Windows and macOS file systems ignore case by default; os.path.normcase only folds on Windows.
    if sys.platform == "darwin":
        return str(resolved).casefold().startswith(str(base).casefold().rstrip("/") + "/")
    return Path(os.path.normcase(resolved)).is_relative_to(Path(os.path.normcase(base)))


def collect_files(
    blendfile: Path, dependencies: list[Path], project_root: Path | None = None
) -> tuple[Path, list[PackFile]]:
    """Resolve, de-duplicate and check all files; returns (project root, files with the blend first).

    The root defaults to the deepest common parent of all files. A file outside a given root is an
    error: its relative path could not be kept, and the blend file refers to it by that path.
    """
    paths: list[Path] = []
    for path in [blendfile, *dependencies]:
        resolved = Path(path).resolve()
        if not resolved.is_file():
            raise PackError(f"{path} does not exist or is not a file")
        if resolved not in paths:
            paths.append(resolved)
    root = Path(project_root).resolve() if project_root else _common_parent(paths)
    outside = [str(p) for p in paths if not p.is_relative_to(root)]
    if outside:
        raise PackError(f"files outside the project root {root}: {', '.join(outside[:5])}")
    return root, [PackFile(p, PurePosixPath(p.relative_to(root).as_posix())) for p in paths]


def _common_parent(paths: list[Path]) -> Path:
    try:
        return Path(os.path.commonpath([str(p.parent) for p in paths]))
    except ValueError:  # different drives on Windows
        raise PackError("the files are on different drives; choose a project root") from None


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(name: str, fallback: str = "job") -> str:
    """A job name turned into one path component that every OS accepts and Shaman does not refuse."""
    cleaned = _UNSAFE.sub("_", name).strip(" ._")[:64].strip(" ._")
    return cleaned or fallback


def job_folder_name(job_name: str, now: datetime | None = None) -> str:
    """`<ISO-like local timestamp without colons>-<job name>`, e.g. `2024-05-01T153012-shot_010`."""
    stamp = (now or datetime.now()).strftime("%Y-%m-%dT%H%M%S")
    return f"{stamp}-{safe_name(job_name)}"
