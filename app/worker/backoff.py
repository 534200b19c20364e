"""Retry delays: exponential backoff with jitter, so a farm of workers does not retry in lockstep."""

from __future__ import annotations

import random


def jittered(seconds: float, spread: float = 0.1) -> float:
    """`seconds` randomised by ±`spread` (10 % by default)."""
    return seconds * random.uniform(1.0 - spread, 1.0 + spread)


class Backoff:
    """Delays growing from `initial` by `factor` up to `maximum`; `reset()` after a success."""

    def __init__(self, initial: float = 0.5, maximum: float = 5.0, factor: float = 2.0):
        self.initial = initial
        self.maximum = maximum
        self.factor = factor
        self._next = initial

    def next_delay(self) -> float:
        delay = self._next
        self._next = min(self._next * self.factor, self.maximum)
        return jittered(delay)

    def reset(self) -> None:
        self._next = self.initial
