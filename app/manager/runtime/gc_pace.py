"""How often Python's cyclic garbage collector runs in a Manager process.

CPython starts a young collection after every 700 net allocations of tracked objects, and a young
collection also walks what the young objects reference. A Manager serving thousands of workers
allocates request, response and future objects at a high rate, and most of them are freed by
reference counting moments later. At the default pace, `bench/scale.py` measured the collector at
9% of the Manager's CPU with 5,000 waiting workers and 13% with 10,000, and each full collection
stopped the event loop for about half a second. With young collections after 10,000 allocations
the same 5,000-worker run spent a quarter of that time collecting, at the same resident memory.

Full collections keep CPython's own rule (only once the long-lived heap has grown by a quarter).
"""

from __future__ import annotations

import gc
import logging

_log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000


def pace_collector() -> None:
    """Raise the young-generation threshold (never lower it: an embedding program may have set more)."""
    young, middle, old = gc.get_threshold()
    if 0 < young < YOUNG_THRESHOLD:
        gc.set_threshold(YOUNG_THRESHOLD, middle, old)
        _log.debug("garbage collector: young collections after %d allocations (was %d)", YOUNG_THRESHOLD, young)
