"""The idle time on macOS: `HIDIdleTime` of IOKit's `IOHIDSystem` (nanoseconds), no Qt.

The reader asks IOKit directly through ctypes (one registry read per poll, no process started).
Where IOKit cannot be loaded, `IoregIdleSource` reads the same property from the output of
`ioreg -c IOHIDSystem -d 4` (a process per poll: heavier, a fallback only). Not tried on a real Mac
in this project's CI (Linux); the parsing and the arithmetic are unit-tested with the OS faked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import re
import subprocess
from collections.abc import Callable

_log = logging.getLogger(__name__)

NS_PER_S = 1_000_000_000
_IOREG_IDLE = re.compile(r'"HIDIdleTime"\s*=\s*(\d+)')
_CF_UTF8 = 0x08000100       # kCFStringEncodingUTF8
_CF_SINT64 = 4              # kCFNumberSInt64Type


def parse_ioreg(text: str) -> float | None:
    """Seconds idle from `ioreg -c IOHIDSystem` output (its first HIDIdleTime, in ns), or None."""
    match = _IOREG_IDLE.search(text)
    return int(match.group(1)) / NS_PER_S if match else None


def _run_ioreg() -> str:
    return subprocess.run(["ioreg", "-c", "IOHIDSystem", "-d", "4"], capture_output=True, text=True,
                          timeout=5, check=False).stdout


class IoregIdleSource:
    """`HIDIdleTime` read from `ioreg`'s output; `run` is injectable for tests."""

    def __init__(self, run: Callable[[], str] = _run_ioreg):
        self._run = run

    def idle_seconds(self) -> float | None:
        try:
            return parse_ioreg(self._run())
        except (OSError, subprocess.SubprocessError) as exc:
            _log.debug("ioreg failed: %s", exc)
            return None


class IOKitIdleSource:
    """`HIDIdleTime` straight from the IORegistry (IOKit and CoreFoundation through ctypes)."""

    def __init__(self) -> None:
        c_void_p, c_uint32 = ctypes.c_void_p, ctypes.c_uint32
        iokit = ctypes.cdll.LoadLibrary(ctypes.util.find_library("IOKit") or "IOKit")
        cf = ctypes.cdll.LoadLibrary(ctypes.util.find_library("CoreFoundation") or "CoreFoundation")
        iokit.IOServiceMatching.argtypes, iokit.IOServiceMatching.restype = [ctypes.c_char_p], c_void_p
        iokit.IOServiceGetMatchingService.argtypes = [c_uint32, c_void_p]
        iokit.IOServiceGetMatchingService.restype = c_uint32
        iokit.IORegistryEntryCreateCFProperty.argtypes = [c_uint32, c_void_p, c_void_p, c_uint32]
        iokit.IORegistryEntryCreateCFProperty.restype = c_void_p
        cf.CFStringCreateWithCString.argtypes = [c_void_p, ctypes.c_char_p, c_uint32]
        cf.CFStringCreateWithCString.restype = c_void_p
        cf.CFNumberGetValue.argtypes = [c_void_p, ctypes.c_int, c_void_p]
        cf.CFNumberGetValue.restype = ctypes.c_bool
        cf.CFGetTypeID.argtypes, cf.CFGetTypeID.restype = [c_void_p], ctypes.c_ulong
        cf.CFNumberGetTypeID.restype = ctypes.c_ulong
        cf.CFRelease.argtypes = [c_void_p]
        self._iokit, self._cf = iokit, cf
        # kIOMasterPortDefault is 0; the matching dictionary is consumed by the call.
        self._service = iokit.IOServiceGetMatchingService(0, iokit.IOServiceMatching(b"IOHIDSystem"))
        if not self._service:
            raise OSError("IOKit has no IOHIDSystem service")
        self._key = cf.CFStringCreateWithCString(None, b"HIDIdleTime", _CF_UTF8)
        self._number_type = cf.CFNumberGetTypeID()

    def idle_seconds(self) -> float | None:
        prop = self._iokit.IORegistryEntryCreateCFProperty(self._service, self._key, None, 0)
        if not prop:
            return None
        try:
            if self._cf.CFGetTypeID(prop) != self._number_type:
                return None  # very old systems kept it as CFData
            value = ctypes.c_int64()
            if not self._cf.CFNumberGetValue(prop, _CF_SINT64, ctypes.byref(value)):
                return None
            return value.value / NS_PER_S
        finally:
            self._cf.CFRelease(prop)


def open_macos_source() -> tuple[object | None, str]:
    """IOKit directly, else `ioreg`, else (None, why)."""
    try:
        return IOKitIdleSource(), ""
    except (OSError, AttributeError) as exc:
        _log.info("cannot read the idle time through IOKit (%s); trying ioreg", exc)
    source = IoregIdleSource()
    if source.idle_seconds() is None:
        return None, "macOS did not tell the idle time (IOKit's HIDIdleTime could not be read)"
    return source, ""
