"""Retry delays: exponential backoff with jitter, so a farm of workers does not retry in lockstep."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

LOUD_FAILURES = 3  # failures in a row that are each logged
REMIND_EVERY_S = 60.0  # after that, one line a minute


def jittered(seconds: float, spread: float = 0.1) -> float:
    """`seconds` randomised by ±`spread` (10 % by default)."""
    return seconds * random.uniform(1.0 - spread, 1.0 + spread)


class Backoff:
    """Delays growing from `initial` by `factor` up to `maximum`; `reset()` after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 5.0, factor: float = 2.0,
                 clock: Callable[[], float] = time.monotonic):
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial
        self._clock = clock
        self.failures = 0  # in a row, since the last reset()
        self._last_logged = -REMIND_EVERY_S

    def next_delay(self) -> float:
        self.failures += 1
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return jittered(delay)

    def failed(self, log: Callable[..., None], message: str, *args: object) -> float:
        """Count a failure; log `message % args` with the retry delay, and return that delay.

        The first LOUD_FAILURES failures in a row are each logged, then one line a minute: a
        worker waiting all night for its Manager writes a line a minute, not twelve.
        """
        delay = self.next_delay()
        now = self._clock()
        if self.failures <= LOUD_FAILURES or now - self._last_logged >= REMIND_EVERY_S:
            self._last_logged = now
            if self.failures > LOUD_FAILURES:
                log(message + "; %d failures in a row, retrying every %.0f s or so (next report in a minute)",
                    *args, self.failures, self.maximum)
            else:
                log(message + "; retrying in %.1f s", *args, delay)
        return delay

    def reset(self) -> None:
        self._next = self.initial
        self.failures = 0
