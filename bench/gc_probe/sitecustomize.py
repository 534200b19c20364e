"""Logs the garbage collector's time in a Manager process, for `bench/scale.py` runs by hand.

    PYTHONPATH=bench/gc_probe TABLAO_GC_PROBE=/tmp/gc.log .venv/bin/python bench/scale.py --workers 5000

Python imports `sitecustomize` at start-up; with the variable set, each process whose command line
names `manager` appends a line every 5 s: seconds since start, collector time in all and per
generation, collection counts, the longest single collection of each generation since the last line
(each one stops the event loop), and the process's CPU time. Other processes are left alone.
With TABLAO_GC_CENSUS=SECONDS as well, the line at that time is followed by the objects the collector
tracks (frozen ones apart) and the most common of their types: what each collection has to walk.
With TABLAO_SLOW_CALLBACK=SECONDS, every event-loop callback that ran longer is logged with its time,
what it was, and how much of it the collector took: what held a dashboard's request up.
"""

import os
import sys

_PATH = os.environ.get("TABLAO_GC_PROBE")


def _start(path: str) -> None:
    import gc
    import threading
    import time

    state = {"began": 0.0, "total": 0.0, "count": [0, 0, 0], "time": [0.0, 0.0, 0.0], "longest": [0.0, 0.0, 0.0]}

    def on_collect(phase: str, info: dict) -> None:
        if phase == "start":
            state["began"] = time.perf_counter()
            return
        spent = time.perf_counter() - state["began"]
        state["total"] += spent
        state["count"][info["generation"]] += 1
        state["time"][info["generation"]] += spent
        state["longest"][info["generation"]] = max(state["longest"][info["generation"]], spent)

    state["census_at"] = float(os.environ.get("TABLAO_GC_CENSUS", "0") or 0)

    def census(out) -> None:
        import collections

        objects = gc.get_objects()
        types = collections.Counter(type(o).__qualname__ for o in objects)
        out.write(f"  census: {len(objects):,} tracked objects, {gc.get_freeze_count():,} frozen; "
                  + ", ".join(f"{name} {n:,}" for name, n in types.most_common(25)) + "\n")
        del objects

    def report() -> None:
        t0 = time.monotonic()
        while True:
            time.sleep(5)
            longest, state["longest"] = state["longest"], [0.0, 0.0, 0.0]
            with open(path, "a") as out:
                out.write(f"{time.monotonic() - t0:5.0f} s: collector {state['total']:.2f} s "
                          f"(per generation {', '.join(f'{t:.2f}' for t in state['time'])} s; "
                          f"collections {state['count']}; longest {', '.join(f'{t:.3f}' for t in longest)} s; "
                          f"thresholds {gc.get_threshold()}), "
                          f"process CPU {sum(os.times()[:2]):.1f} s\n")
                if state["census_at"] and time.monotonic() - t0 >= state["census_at"]:
                    census(out)
                    state["census_at"] = 0.0

    slow = float(os.environ.get("TABLAO_SLOW_CALLBACK", "0") or 0)
    if slow > 0:
        import asyncio.events

        run = asyncio.events.Handle._run
        t_start = time.monotonic()

        def timed_run(handle) -> None:
            began, collected = time.perf_counter(), state["total"]
            run(handle)
            took = time.perf_counter() - began
            if took > slow:
                with open(path, "a") as out:
                    out.write(f"  slow callback at {time.monotonic() - t_start:.1f} s: {took:.3f} s "
                              f"(collector {state['total'] - collected:.3f} s) {repr(handle)[:300]}\n")

        asyncio.events.Handle._run = timed_run

        from concurrent.futures import thread as pool

        work_init, work_run = pool._WorkItem.__init__, pool._WorkItem.run

        def stamped_init(item, *args, **kwargs) -> None:
            work_init(item, *args, **kwargs)
            item.probe_queued = time.perf_counter()

        def timed_work(item) -> None:
            began = time.perf_counter()
            work_run(item)
            waited, took = began - item.probe_queued, time.perf_counter() - began
            if waited > slow or took > slow:
                what = getattr(item.fn, "args", None) or item.args
                with open(path, "a") as out:
                    out.write(f"  slow thread job at {time.monotonic() - t_start:.1f} s: waited {waited:.3f} s, "
                              f"ran {took:.3f} s: {repr(what)[:200]}\n")

        pool._WorkItem.__init__, pool._WorkItem.run = stamped_init, timed_work

    gc.callbacks.append(on_collect)
    threading.Thread(target=report, daemon=True, name="gc-probe").start()


if _PATH:
    try:
        with open("/proc/self/cmdline", "rb") as f:
            _is_manager = b"manager" in f.read().split(b"\0")
    except OSError:
        _is_manager = "manager" in sys.argv
    if _is_manager:
        _start(_PATH)
