"""How often Python's cyclic garbage collector runs in a Manager process.

CPython starts a young collection after every 700 net allocations of tracked objects, and a young
collection also walks what the young objects reference. A Manager serving thousands of workers
allocates request, response and future objects at a high rate, and most of them are freed by
reference counting moments later. At the default pace, `bench/scale.py` measured the collector at
9% of the Manager's CPU with 5,000 waiting workers and 13% with 10,000, and each full collection
stopped the event loop for about half a second. With young collections after 10,000 allocations
the same 5,000-worker run spent a quarter of that time collecting, at the same resident memory.

Full collections walk every object the process holds: with 10,000 workers long-polling that is
about 900,000 (some 80 per waiting request: its coroutines, task, transport, headers), and each one
stopped the event loop for 0.6-0.7 s, every 20 s of a busy run, so a dashboard's GET that came
meanwhile waited that long. Their objects are freed by reference counting when the request ends;
the young and middle collections still find the cycles of short-lived objects. So a full collection
waits for OLD_THRESHOLD middle collections instead of CPython's 10 (on top of CPython's own rule:
only once the long-lived heap has grown by a quarter), minutes apart on a busy farm.
"""

from __future__ import annotations

import gc
import logging

_log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000
OLD_THRESHOLD = 100


def pace_collector() -> None:
    """Raise the young and old thresholds (never lower one: an embedding program may have set more;
    never turn on what it turned off)."""
    young, middle, old = gc.get_threshold()
    if young <= 0:
        return
    paced = (max(young, YOUNG_THRESHOLD), middle, max(old, OLD_THRESHOLD))
    if paced != (young, middle, old):
        gc.set_threshold(*paced)
        _log.debug("garbage collector: thresholds %s (were %s)", paced, (young, middle, old))
