"""The Windows and macOS idle-time readers with the operating system faked (they cannot run here).

What is checked: the tick arithmetic of `GetLastInputInfo` (with GetTickCount's 32-bit wrap), the
call sequence against fake DLLs, the parsing of `ioreg -c IOHIDSystem` output, and that every
system without a reader gets a reason in words. Real Windows and macOS desktops are NOT tested.
"""

from __future__ import annotations

import ctypes

import pytest

from app.common import idle
from app.common.idle_macos import IoregIdleSource, parse_ioreg
from app.common.idle_windows import LASTINPUTINFO, WindowsIdleSource, idle_ms

IOREG = """\
+-o Root  <class IORegistryEntry, id 0x100000100, retain 14>
  +-o IOResources  <class IOResources, id 0x100000103, registered, matched, active, busy 0 (0 ms), retain 40>
    +-o IOHIDSystem  <class IOHIDSystem, id 0x1000003c0, registered, matched, active, busy 0 (0 ms), retain 23>
      | {
      |   "HIDParameters" = {"HIDDefaultParameters"=Yes,"HIDMouseAcceleration"=45056}
      |   "HIDIdleTimeStamp" = 1
      |   "HIDIdleTime" = 93500000000
      |   "IOClass" = "IOHIDSystem"
      | }
"""


def test_windows_idle_time_is_the_tick_difference_also_across_the_32_bit_wrap():
    assert idle_ms(10_000, 4_000) == 6_000
    assert idle_ms(500, 0xFFFFFFFF - 499) == 1_000      # input just before the wrap, now just after
    assert idle_ms(0x1_0000_0100, 0x100) == 0           # a 64-bit tick count is taken modulo 2**32
    assert idle_ms(1234, 1234) == 0


class _FakeUser32:
    def __init__(self, last_input: int | None):
        self.last_input = last_input

    def GetLastInputInfo(self, pointer) -> int:  # noqa: N802 - the Win32 name
        info = pointer._obj
        assert isinstance(info, LASTINPUTINFO) and info.cbSize == ctypes.sizeof(LASTINPUTINFO)
        if self.last_input is None:
            return 0
        info.dwTime = self.last_input
        return 1


class _FakeKernel32:
    def __init__(self, now: int):
        self.now = now

    def GetTickCount(self) -> int:  # noqa: N802 - the Win32 name
        return self.now


def test_windows_reader_asks_user32_and_kernel32():
    user32, kernel32 = _FakeUser32(last_input=0xFFFFFF00), _FakeKernel32(now=0x00000F00)
    source = WindowsIdleSource(user32, kernel32)
    assert source.idle_seconds() == pytest.approx((0x100 + 0xF00) / 1000)
    user32.last_input, kernel32.now = 1_000, 91_000
    assert source.idle_seconds() == pytest.approx(90.0)
    user32.last_input = None          # the call failed (no interactive desktop): unknown, not zero
    assert source.idle_seconds() is None


def test_macos_ioreg_output_gives_hid_idle_time_in_seconds():
    assert parse_ioreg(IOREG) == pytest.approx(93.5)
    assert parse_ioreg('"HIDIdleTime" = 0') == 0.0
    assert parse_ioreg("ioreg: no such class") is None
    assert parse_ioreg("") is None
    calls = []
    source = IoregIdleSource(run=lambda: calls.append(1) or IOREG)
    assert source.idle_seconds() == pytest.approx(93.5) and calls == [1]

    def broken() -> str:
        raise FileNotFoundError("ioreg")

    assert IoregIdleSource(run=broken).idle_seconds() is None


@pytest.mark.parametrize("platform", ["sunos5", "aix", "emscripten"])
def test_systems_without_a_reader_are_told_in_words(platform):
    source, why = idle.open_idle_source(platform=platform)
    assert source is None and platform in why and "idle time" in why


def test_windows_and_macos_have_readers_and_wayland_is_explained():
    assert idle.why_unreadable({}, platform="win32") == ""
    assert idle.why_unreadable({}, platform="darwin") == ""
    assert "Wayland" in idle.why_unreadable({"XDG_SESSION_TYPE": "wayland"}, platform="linux")
    if not hasattr(ctypes, "WinDLL"):   # here (not Windows): opening the reader fails, in words
        source, why = idle.open_idle_source(platform="win32")
        assert source is None and "GetLastInputInfo" in why
