"""The FFmpeg that comes with the bundled Tablao, so a render node needs only Blender from the system.

The bundle (packaging/tablao.spec, one folder made by PyInstaller) carries the static FFmpeg build of
the `imageio-ffmpeg` package as `ffmpeg/ffmpeg` (`ffmpeg/ffmpeg.exe` on Windows) inside its library
folder. A worker runs it for a bare `ffmpeg` unless its `ffmpeg_exe` names another one: every
worker of a farm then makes its preview videos with the same FFmpeg. Tablao run from a Python
environment carries none and uses FFmpeg from PATH.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def bundle_folder() -> Path | None:
    """The folder holding the bundled program's libraries and data; None outside a bundle."""
    if not getattr(sys, "frozen", False):
        return None
    folder = getattr(sys, "_MEIPASS", None)
    return Path(folder) if folder else None


def bundled_ffmpeg() -> str | None:
    """The path of the FFmpeg the bundle carries, or None (not a bundle, or the file is missing)."""
    folder = bundle_folder()
    if folder is None:
        return None
    exe = folder / "ffmpeg" / ("ffmpeg.exe" if sys.platform == "win32" else "ffmpeg")
    return str(exe) if exe.is_file() and os.access(exe, os.X_OK) else None
