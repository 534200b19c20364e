"""Logs the garbage collector's time in a Manager process, for `bench/scale.py` runs by hand.

    PYTHONPATH=bench/gc_probe TABLAO_GC_PROBE=/tmp/gc.log .venv/bin/python bench/scale.py --workers 5000

Python imports `sitecustomize` at start-up; with the variable set, each process whose command line
names `manager` appends a line every 5 s: seconds since start, collector time in all and per
generation, collection counts, and the process's CPU time. Other processes are left alone.
"""

import os
import sys

_PATH = os.environ.get("TABLAO_GC_PROBE")


def _start(path: str) -> None:
    import gc
    import threading
    import time

    state = {"began": 0.0, "total": 0.0, "count": [0, 0, 0], "time": [0.0, 0.0, 0.0]}

    def on_collect(phase: str, info: dict) -> None:
        if phase == "start":
            state["began"] = time.perf_counter()
            return
        spent = time.perf_counter() - state["began"]
        state["total"] += spent
        state["count"][info["generation"]] += 1
        state["time"][info["generation"]] += spent

    def report() -> None:
        t0 = time.monotonic()
        while True:
            time.sleep(5)
            with open(path, "a") as out:
                out.write(f"{time.monotonic() - t0:5.0f} s: collector {state['total']:.2f} s "
                          f"(per generation {', '.join(f'{t:.2f}' for t in state['time'])} s; "
                          f"collections {state['count']}; thresholds {gc.get_threshold()}), "
                          f"process CPU {sum(os.times()[:2]):.1f} s\n")

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
