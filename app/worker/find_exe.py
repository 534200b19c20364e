"""Finding the programs commands run (Blender, FFmpeg, anything named by `exec`).

The Manager has already expanded variables such as `{blender}`; what arrives is either a path or a
bare name. A bare `blender`/`ffmpeg` uses the worker's configured executable if set; a bare `ffmpeg`
then the one the bundled program carries (app.worker.bundled_ffmpeg); else PATH.
"""

from __future__ import annotations

import logging
import os
import shutil

from app.worker.bundled_ffmpeg import bundled_ffmpeg
from app.worker.commands.base import CommandError
from app.worker.config import WorkerConfig

_log = logging.getLogger(__name__)

_CONFIG_HINT = {"blender": "blender_exe", "ffmpeg": "ffmpeg_exe"}


def _bare_name(exe: str) -> str | None:
    """'blender' for 'blender' or 'Blender.exe'; None when `exe` names a directory too."""
    if os.path.dirname(exe):
        return None
    name = exe.lower()
    return name.removesuffix(".exe")


def resolve_executable(exe: str, config: WorkerConfig) -> str:
    """The path to run for `exe`, or a `CommandError` that says how to fix a missing program."""
    if not exe:
        raise CommandError("no executable given")
    name = _bare_name(exe)
    if name is None:
        if not os.path.exists(exe):
            raise CommandError(f"executable {exe} does not exist on this worker")
        return exe
    configured = {"blender": config.blender_exe, "ffmpeg": config.ffmpeg_exe}.get(name, "")
    if configured:
        return configured
    if name == "ffmpeg" and (bundled := bundled_ffmpeg()):
        _log.debug("resolved %s to the bundled %s", exe, bundled)
        return bundled
    found = shutil.which(exe)
    if found is None:
        hint = _CONFIG_HINT.get(name)
        extra = f", or set {hint} in the worker config" if hint else ""
        raise CommandError(f"{exe!r} was not found on PATH of this worker; install it{extra}")
    _log.debug("resolved %s to %s", exe, found)
    return found
