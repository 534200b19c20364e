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
only once the long-lived heap has grown by a quarter): with the timer below, some 20 minutes.

CPython counts allocations minus deallocations, and the deallocation of an old object counts too.
While a busy farm's waiting requests end (their old objects freed) and new ones start, that count
hardly grows, so young objects piled up for seconds: one young collection walked them all and
stopped the loop for 0.7 s. `pace_young_collections` runs a young collection every YOUNG_EVERY_S
(and a middle one after `middle` of those, as CPython would), so each walks what a tenth of a second
left alive, whatever the count says; it never runs while the host program has turned automatic
collection off (the desktop shell collects on its GUI thread only), and every OLD_THRESHOLD middle
ones it runs a full one itself, so cycles that outlived their young days are freed at last.
"""

from __future__ import annotations

import asyncio
import gc
import logging

_log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 10_000
OLD_THRESHOLD = 1000
YOUNG_EVERY_S = 0.1


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


async def pace_young_collections() -> None:
    """Young (and middle, and now and then full) collections on a timer, until cancelled (module text)."""
    middle_since_full = 0
    while True:
        await asyncio.sleep(YOUNG_EVERY_S)
        if not gc.isenabled():
            continue
        middle_threshold = gc.get_threshold()[1]
        if gc.get_count()[1] < middle_threshold:
            gc.collect(0)
        elif middle_since_full < OLD_THRESHOLD:
            gc.collect(1)
            middle_since_full += 1
        else:
            gc.collect(2)
            middle_since_full = 0
