"""Start the tray worker at login: a freedesktop autostart entry on Linux, a LaunchAgent on macOS,
the registry's Run key on Windows (for this user only, nothing needs an administrator).

Qt-free and small; the worker window's "Start the worker when I log in" box calls `set_enabled`.
The macOS and Windows writers are tested here on Linux (the plist written under a temporary home,
the registry through a stand-in for `winreg`), not on those systems.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import plistlib
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

FILENAME = "tablao-worker.desktop"
AGENT_LABEL = "org.tablao.worker"
RUN_KEY = r"Software\Microsoft\Windows\CurrentVersion\Run"
RUN_VALUE = "Tablao worker"


def autostart_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "autostart"


def supported(platform: str | None = None) -> str:
    """'' when start-at-login can be set here, otherwise why not."""
    platform = platform or sys.platform
    if platform.startswith(("linux", "freebsd")) or platform in ("darwin", "win32"):
        return ""
    return f"starting at login is not supported on {platform}"


def command(platform: str | None = None) -> list[str]:
    exe = Path(sys.executable)
    if getattr(sys, "frozen", False):  # the bundled program is `tablao` itself, not a Python
        return [str(exe), "worker"]
    if (platform or sys.platform) == "win32" and exe.name.lower() == "python.exe":
        windowless = exe.with_name("pythonw.exe")  # no console window at every login
        if windowless.exists():
            exe = windowless
    return [str(exe), "-m", "app", "worker"]


def entry(cmd: list[str] | None = None) -> str:
    exec_line = " ".join(shlex.quote(part) for part in (cmd or command()))
    return ("[Desktop Entry]\nType=Application\nName=Tablao worker\n"
            "Comment=Render for the farm while this computer is not in use\n"
            f"Exec={exec_line}\nIcon=applications-graphics\nTerminal=false\nX-GNOME-Autostart-enabled=true\n")


def launch_agent(cmd: list[str] | None = None) -> bytes:
    return plistlib.dumps({"Label": AGENT_LABEL, "ProgramArguments": cmd or command("darwin"),
                           "RunAtLoad": True, "ProcessType": "Interactive"})


def launch_agent_path() -> Path:
    return Path.home() / "Library" / "LaunchAgents" / f"{AGENT_LABEL}.plist"


def is_enabled(platform: str | None = None, winreg: ModuleType | None = None) -> bool:
    platform = platform or sys.platform
    if platform == "win32":
        return _run_value(winreg or _winreg()) is not None
    if platform == "darwin":
        return launch_agent_path().is_file()
    return (autostart_dir() / FILENAME).is_file()


def set_enabled(on: bool, cmd: list[str] | None = None, platform: str | None = None,
                winreg: ModuleType | None = None) -> str:
    """Write or remove the login item; returns where it lives (a path, or the registry value)."""
    platform = platform or sys.platform
    if platform == "win32":
        return _set_run_value(winreg or _winreg(), subprocess.list2cmdline(cmd or command(platform)) if on else None)
    path = launch_agent_path() if platform == "darwin" else autostart_dir() / FILENAME
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        if platform == "darwin":
            path.write_bytes(launch_agent(cmd))
        else:
            path.write_text(entry(cmd))
    elif path.exists():
        path.unlink()
    return str(path)


def _winreg() -> ModuleType:
    return importlib.import_module("winreg")


def _run_value(reg: ModuleType) -> str | None:
    try:
        with reg.OpenKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
            return str(reg.QueryValueEx(key, RUN_VALUE)[0])
    except OSError:  # FileNotFoundError: no such key or value
        return None


def _set_run_value(reg: ModuleType, line: str | None) -> str:
    with reg.CreateKey(reg.HKEY_CURRENT_USER, RUN_KEY) as key:
        if line is not None:
            reg.SetValueEx(key, RUN_VALUE, 0, reg.REG_SZ, line)
        else:
            with contextlib.suppress(OSError):
                reg.DeleteValue(key, RUN_VALUE)
    return f"HKEY_CURRENT_USER\\{RUN_KEY}\\{RUN_VALUE}"
