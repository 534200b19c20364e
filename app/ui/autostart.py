"""Start the tray worker at login: a freedesktop autostart entry on Linux.

Windows (the registry's Run key) and macOS (a LaunchAgent) are not written yet; `supported()`
says so and the window greys the option out with the reason.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

FILENAME = "tablao-worker.desktop"


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def supported() -> str:
    """'' when start-at-login can be set here, otherwise why not."""
    if sys.platform.startswith("linux") or sys.platform.startswith("freebsd"):
        return ""
    return f"starting at login is not supported on {sys.platform} yet"


def command() -> list[str]:
    return [sys.executable, "-m", "app", "worker"]


def entry(cmd: list[str] | None = None) -> str:
    exec_line = " ".join(shlex.quote(part) for part in (cmd or command()))
    return ("[Desktop Entry]\nType=Application\nName=Tablao worker\n"
            "Comment=Render for the farm while this computer is not in use\n"
            f"Exec={exec_line}\nIcon=applications-graphics\nTerminal=false\nX-GNOME-Autostart-enabled=true\n")


def is_enabled() -> bool:
    return (autostart_dir() / FILENAME).is_file()


def set_enabled(on: bool, cmd: list[str] | None = None) -> Path:
    path = autostart_dir() / FILENAME
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(entry(cmd))
    elif path.exists():
        path.unlink()
    return path
