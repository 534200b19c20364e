"""The idle time on Windows: `GetLastInputInfo` against `GetTickCount`, through ctypes (no Qt).

Both are 32-bit millisecond tick counts since boot that wrap every 49.7 days, so the difference is
taken modulo 2**32: a last input just before the wrap and "now" just after it still give a few
milliseconds, not minus 49 days. Not tried on a real Windows desktop in this project's CI (Linux);
the arithmetic and the call sequence are unit-tested with the DLLs faked.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

_log = logging.getLogger(__name__)

TICK_MASK = 0xFFFFFFFF


class LASTINPUTINFO(ctypes.Structure):
    _fields_ = [("cbSize", ctypes.c_uint32), ("dwTime", ctypes.c_uint32)]


def idle_ms(now_ticks: int, last_input_ticks: int) -> int:
    """Milliseconds since the last input, from two 32-bit tick counts (wrap-around safe)."""
    return ((now_ticks & TICK_MASK) - (last_input_ticks & TICK_MASK)) & TICK_MASK


class WindowsIdleSource:
    """Seconds since the last keyboard or mouse input of this session (`user32`, `kernel32`)."""

    def __init__(self, user32: Any = None, kernel32: Any = None):
        if user32 is None or kernel32 is None:
            user32, kernel32 = ctypes.WinDLL("user32"), ctypes.WinDLL("kernel32")  # type: ignore[attr-defined]
            user32.GetLastInputInfo.argtypes = [ctypes.POINTER(LASTINPUTINFO)]
            user32.GetLastInputInfo.restype = ctypes.c_int
            kernel32.GetTickCount.argtypes = []
            kernel32.GetTickCount.restype = ctypes.c_uint32
        self._user32, self._kernel32 = user32, kernel32
        self._info = LASTINPUTINFO(cbSize=ctypes.sizeof(LASTINPUTINFO))

    def idle_seconds(self) -> float | None:
        if not self._user32.GetLastInputInfo(ctypes.byref(self._info)):
            return None  # e.g. a service session without a desktop
        return idle_ms(int(self._kernel32.GetTickCount()), self._info.dwTime) / 1000.0
