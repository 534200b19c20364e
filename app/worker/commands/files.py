"""File-management commands: `make-directory`, `move-directory`, `copy-file`, `copy-directory`.

The filesystem work runs in a thread so a slow network share never stalls the worker's event loop.
`move-directory` keeps an existing destination by renaming it to `<dest>-YYYY-MM-DD_HHMMSS`
(its modification time, local time), adding `-1`, `-2`, ... when that name is taken too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from app.worker.commands.base import CommandContext, CommandError, param_str

_log = logging.getLogger(__name__)

#: Permissions for directories the copy commands create (group may read, others not).
_NEW_DIR_MODE = 0o750


def backup_name(dest: Path) -> Path:
    """A free sibling name for `dest`, based on its mtime: `dest-2024-05-01_134501[-N]`."""
    stamp = datetime.fromtimestamp(dest.stat().st_mtime).strftime("%Y-%m-%d_%H%M%S")
    candidate = dest.with_name(f"{dest.name}-{stamp}")
    suffix = 1
    while candidate.exists() or candidate.is_symlink():
        candidate = dest.with_name(f"{dest.name}-{stamp}-{suffix}")
        suffix += 1
    return candidate


def _require_absolute(name: str, path: Path) -> None:
    if not path.is_absolute():
        raise CommandError(f"parameter {name!r} must be an absolute path, got {str(path)!r}")


def _make_directory(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise CommandError(f"{path} exists and is not a directory")
    path.mkdir(parents=True, exist_ok=True)


def _move_directory(src: Path, dest: Path) -> list[str]:
    if not src.exists():
        raise CommandError(f"source {src} does not exist")
    if not src.is_dir():
        raise CommandError(f"source {src} is not a directory")
    messages = []
    if dest.exists() or dest.is_symlink():
        backup = backup_name(dest)
        os.rename(dest, backup)
        messages.append(f"moved existing {dest} out of the way to {backup}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # shutil.move renames when it can and copies across filesystems when it must.
    shutil.move(os.fspath(src), os.fspath(dest))
    messages.append(f"moved {src} to {dest}")
    return messages


def _check_copy(src: Path, dest: Path, want_dir: bool) -> None:
    _require_absolute("src", src)
    _require_absolute("dest", dest)
    kind = "directory" if want_dir else "regular file"
    if not src.exists():
        raise CommandError(f"source {src} does not exist")
    right_kind = src.is_dir() if want_dir else src.is_file()
    if not right_kind:
        raise CommandError(f"source {src} is not a {kind}")
    if dest.exists() or dest.is_symlink():
        raise CommandError(f"destination {dest} already exists")


def _copy_file(src: Path, dest: Path) -> None:
    _check_copy(src, dest, want_dir=False)
    dest.parent.mkdir(mode=_NEW_DIR_MODE, parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def _copy_directory(src: Path, dest: Path) -> None:
    _check_copy(src, dest, want_dir=True)
    dest.parent.mkdir(mode=_NEW_DIR_MODE, parents=True, exist_ok=True)
    shutil.copytree(src, dest, symlinks=True)


async def _in_thread(fn: Callable[..., Any], *args: Any) -> Any:
    try:
        return await asyncio.to_thread(fn, *args)
    except CommandError:
        raise
    except OSError as exc:
        where = f": {exc.filename}" if exc.filename else ""
        raise CommandError(f"{exc.strerror or exc}{where}") from exc


async def make_directory(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    path = Path(param_str(params, "path"))
    ctx.check_output(path, "make-directory path")
    await _in_thread(_make_directory, path)
    ctx.log(f"directory {path} exists")


async def move_directory(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    src, dest = Path(param_str(params, "src")), Path(param_str(params, "dest"))
    ctx.check_output(src, "move-directory src")
    ctx.check_output(dest, "move-directory dest")
    for message in await _in_thread(_move_directory, src, dest):
        ctx.log(message)


async def copy_file(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    src, dest = Path(param_str(params, "src")), Path(param_str(params, "dest"))
    ctx.check_output(dest, "copy-file dest")
    await _in_thread(_copy_file, src, dest)
    ctx.log(f"copied {src} to {dest}")


async def copy_directory(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    src, dest = Path(param_str(params, "src")), Path(param_str(params, "dest"))
    ctx.check_output(dest, "copy-directory dest")
    await _in_thread(_copy_directory, src, dest)
    ctx.log(f"copied directory {src} to {dest}")
