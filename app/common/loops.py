"""`run_periodic`: the one "do this on a timer or when poked; log a failure and carry on" loop.

The Manager's background services (timeouts, job deletion, sleep schedules, farm status, WAL
checkpoints, Shaman garbage collection) all share this shape; they differ only in what they do,
how often, and what may wake them early. A round that raises is logged with its traceback and the
loop goes on at the next tick: a background service must never take the Manager down for one bad
round. Cancellation ends the loop (that is how the role service stops it).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

_log = logging.getLogger(__name__)


class Poke(Protocol):
    """Something that can wake a periodic loop early. A poke between two waits is never lost:
    the loop notes `generation` before a round and `wait` returns at once if it moved on."""

    generation: int

    async def wait(self, generation: int, timeout: float) -> bool: ...


class Wakeup:
    """A ready-made `Poke`: `fire()` from the event loop wakes whoever waits (now or next)."""

    def __init__(self) -> None:
        self.generation = 0
        self._event = asyncio.Event()

    def fire(self) -> None:
        self.generation += 1
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, generation: int, timeout: float) -> bool:
        """Wait until the generation differs from `generation`; False on timeout."""
        if self.generation != generation:
            return True
        # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancellation that
        # arrives as the event fires, which left the Manager's shutdown waiting (seen in tests).
        try:
            async with asyncio.timeout(timeout):
                await self._event.wait()
            return True
        except TimeoutError:
            return False


Interval = float | Callable[[], float]


async def run_periodic(name: str, interval: Interval, fn: Callable[[], Awaitable[object]],
                       poke: Poke | None = None, *, first_delay: float | None = None,
                       sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
    """Call `fn()` every `interval` seconds, or sooner when `poke` fires, until cancelled.

    `interval` may be a callable, read before every wait, so a service can change its pace
    while running (a configuration change, a test). The first round runs at once, or after
    `first_delay` seconds. `sleep` waits out an interval when there is no poke (a fake clock's).
    A round that raises is logged as "`name` failed" and the loop carries on.
    """
    if first_delay:
        await sleep(first_delay)
    while True:
        generation = poke.generation if poke is not None else 0
        try:
            await fn()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - one bad round must not stop the service
            _log.exception("%s failed; trying again next round", name)
        seconds = interval() if callable(interval) else interval
        if poke is None:
            await sleep(seconds)
        else:
            await poke.wait(generation, seconds)
