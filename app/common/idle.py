"""'Render only when I'm away': how long the artist has not touched keyboard and mouse, and the rule.

An idle-time source answers `idle_seconds()` (None: cannot be read now). On Linux/X11 it is the X
screensaver extension (libXss through ctypes, no extra package); on Windows `GetLastInputInfo`
(`idle_windows.py`); on macOS IOKit's `HIDIdleTime` (`idle_macos.py`). Under Wayland, without an X
display, or on any other system the time cannot be read and `why_unreadable()` says so in words
for the UI. The Windows and macOS readers are unit-tested with the OS faked only.

`AwayRule` is pure: fed the idle time, it answers what to ask the Manager for at the moments the
artist leaves or comes back, and nothing in between, so it never fights a manual "Render now" or
the sleep schedule.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from dataclasses import dataclass
from typing import Protocol

_log = logging.getLogger(__name__)

WAKE, SLEEP_LAZY, SLEEP_NOW = "wake", "sleep-lazy", "sleep-now"
ON_RETURN_FINISH, ON_RETURN_REQUEUE = "finish", "requeue"


class IdleSource(Protocol):
    def idle_seconds(self) -> float | None: ...


def why_unreadable(env: dict[str, str] | None = None, platform: str | None = None) -> str:
    """Why the idle time cannot be read here, or '' when it can (as far as the environment tells)."""
    env = dict(os.environ) if env is None else env
    platform = platform or sys.platform
    if platform in ("win32", "darwin"):
        return ""
    if platform != "linux" and not platform.startswith("freebsd"):
        return f"this program cannot read the keyboard and mouse idle time on {platform}"
    if env.get("XDG_SESSION_TYPE") == "wayland" or (env.get("WAYLAND_DISPLAY") and not env.get("DISPLAY")):
        return "Wayland does not tell programs how long keyboard and mouse were idle"
    if not env.get("DISPLAY"):
        return "there is no X display to ask for the idle time"
    if not (ctypes.util.find_library("Xss") and ctypes.util.find_library("X11")):
        return "the X screensaver library (libXss) is not installed"
    return ""


class _XScreenSaverInfo(ctypes.Structure):
    _fields_ = [("window", ctypes.c_ulong), ("state", ctypes.c_int), ("kind", ctypes.c_int),
                ("til_or_since", ctypes.c_ulong), ("idle", ctypes.c_ulong), ("eventMask", ctypes.c_ulong)]


class X11IdleSource:
    """The X server's idle time (ms since the last input), through the screensaver extension."""

    def __init__(self, display: str | None = None):
        self._x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
        self._xss = ctypes.cdll.LoadLibrary(ctypes.util.find_library("Xss") or "libXss.so.1")
        self._x11.XOpenDisplay.restype = ctypes.c_void_p
        self._x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
        self._x11.XDefaultRootWindow.restype = ctypes.c_ulong
        self._x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
        self._x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
        self._x11.XFree.argtypes = [ctypes.c_void_p]
        self._xss.XScreenSaverAllocInfo.restype = ctypes.POINTER(_XScreenSaverInfo)
        self._xss.XScreenSaverQueryInfo.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_XScreenSaverInfo)]
        self._display = self._x11.XOpenDisplay(display.encode() if display else None)
        if not self._display:
            raise OSError(f"cannot open the X display {display or os.environ.get('DISPLAY', '')!r}")
        self._root = self._x11.XDefaultRootWindow(self._display)
        self._info = self._xss.XScreenSaverAllocInfo()

    def idle_seconds(self) -> float | None:
        if not self._display or not self._xss.XScreenSaverQueryInfo(self._display, self._root, self._info):
            return None
        return float(self._info.contents.idle) / 1000.0

    def close(self) -> None:
        if self._display:
            self._x11.XFree(self._info)
            self._x11.XCloseDisplay(self._display)
            self._display = None


def open_idle_source(platform: str | None = None) -> tuple[IdleSource | None, str]:
    """The source for this desktop, or (None, why not, in words)."""
    platform = platform or sys.platform
    why = why_unreadable(platform=platform)
    if why:
        return None, why
    if platform == "win32":
        from app.common.idle_windows import WindowsIdleSource

        try:
            return WindowsIdleSource(), ""
        except (OSError, AttributeError) as exc:
            return None, f"Windows did not tell the idle time (GetLastInputInfo): {exc}"
    if platform == "darwin":
        from app.common.idle_macos import open_macos_source

        return open_macos_source()  # type: ignore[return-value]
    try:
        return X11IdleSource(), ""
    except OSError as exc:
        return None, f"cannot read the X idle time: {exc}"


@dataclass
class AwayRule:
    """Wake after `away_after_s` without input; on return, finish the task or requeue it at once."""

    away_after_s: float = 600.0
    on_return: str = ON_RETURN_FINISH
    back_below_s: float = 5.0   # input this recent means the artist is back
    away: bool | None = None    # None until the first reading

    def step(self, idle_s: float | None) -> str | None:
        """What to ask for now (WAKE, SLEEP_LAZY, SLEEP_NOW) or None."""
        if idle_s is None:
            return None
        first = self.away is None
        if idle_s >= self.away_after_s and self.away is not True:
            self.away = True
            return WAKE
        if idle_s < self.back_below_s and self.away is not False:
            self.away = False
            if first:
                return SLEEP_LAZY  # the artist is at the desk when the rule is switched on
            return SLEEP_LAZY if self.on_return == ON_RETURN_FINISH else SLEEP_NOW
        if first and idle_s < self.away_after_s:
            self.away = False
            return SLEEP_LAZY
        return None
