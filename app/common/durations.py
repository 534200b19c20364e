"""Durations: Go-style strings (`10m`, `744h`, `1m30s`) as flamenco-manager.yaml spells them, and
the same durations in words ("10 minutes", "1 hour 30 minutes") as people read them.

The file keeps Go's spelling so Flamenco's tools read it; what a person sees goes through
`say_duration` (text) or `split_duration` (a value and a unit for a value + unit picker).
"""

from __future__ import annotations

import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(value: str | int | float) -> float:
    """Return seconds. Plain numbers are seconds; strings use Go's syntax. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if text in ("0", ""):
        return 0.0
    sign = -1.0 if text.startswith("-") else 1.0
    text = text.lstrip("+-")
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or pos == 0:
        raise ValueError(f"not a duration: {value!r} (use for example 10m, 1h30m or 45s)")
    return sign * total


def format_duration(seconds: float) -> str:
    """Format like Go does for whole seconds: `10m0s`, `1h0m0s`, `45s`."""
    seconds = int(round(seconds))
    if seconds == 0:
        return "0s"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes}m{secs}s"
    if minutes:
        return f"{minutes}m{secs}s"
    return f"{secs}s"


#: The units a person picks from, largest first: (plural word, seconds).
UNITS = (("hours", 3600), ("minutes", 60), ("seconds", 1))
_SINGULAR = {"hours": "hour", "minutes": "minute", "seconds": "second"}


def _count(n: int, unit: str) -> str:
    return f"{n} {_SINGULAR[unit] if n == 1 else unit}"


def say_duration(seconds: float) -> str:
    """In words, whole seconds: `10 minutes`, `1 hour 30 minutes`, `45 seconds`, `0 seconds`."""
    left = int(round(abs(seconds)))
    if left == 0:
        return "0 seconds"
    parts = []
    for unit, size in UNITS:
        n, left = divmod(left, size)
        if n:
            parts.append(_count(n, unit))
    return ("minus " if seconds < 0 else "") + " ".join(parts)


def split_duration(seconds: float) -> tuple[int, str]:
    """(value, unit) in the largest unit that holds `seconds` whole: 600 → (10, "minutes"),
    5400 → (90, "minutes"), 45 → (45, "seconds"); 0 → (0, "minutes"). Rounds to whole seconds."""
    whole = int(round(seconds))
    if whole == 0:
        return 0, "minutes"
    for unit, size in UNITS:
        if whole % size == 0:
            return whole // size, unit
    return whole, "seconds"  # unreachable: every whole number is whole seconds


def unit_seconds(unit: str) -> int:
    """Seconds in one `unit` (`hours`, `minutes` or `seconds`); ValueError for another word."""
    for name, size in UNITS:
        if name == unit:
            return size
    raise ValueError(f"not a unit of time: {unit!r} (use hours, minutes or seconds)")
