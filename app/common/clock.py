"""Clocks: the system clock and a fake one for tests. Services take a `Clock` instead of calling time."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Protocol, overload


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """Real wall-clock time, always timezone-aware UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class FakeClock:
    """A clock that only moves when told to; `sleep` advances it instantly."""

    def __init__(self, start: dt.datetime | None = None):
        self._now = start or dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += dt.timedelta(seconds=seconds)

    async def sleep(self, seconds: float) -> None:
        self.advance(seconds)
        await asyncio.sleep(0)


@overload
def to_rfc3339(value: dt.datetime) -> str: ...
@overload
def to_rfc3339(value: None) -> None: ...
@overload
def to_rfc3339(value: dt.datetime | None) -> str | None: ...


def to_rfc3339(value: dt.datetime | None) -> str | None:
    """Format as the API does: RFC 3339 with a `Z` suffix for UTC."""
    if value is None:
        return None
    # The two common cases without the conversion (a third of the cost of a task's event): a naive
    # value is UTC already, and an aware UTC one only needs its "+00:00" spelled "Z".
    tz = value.tzinfo
    if tz is None:
        return value.isoformat() + "Z"
    if tz is dt.UTC:
        return value.isoformat()[:-6] + "Z"
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_rfc3339(text: str) -> dt.datetime:
    """Parse an RFC 3339 timestamp; naive values are taken as UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value
