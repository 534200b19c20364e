"""Garbage cycles (which may hold Qt objects) are freed on the GUI thread, never on a worker thread."""

from __future__ import annotations

import gc
import threading

from app.ui.gc_guard import GuiThreadCollector


class _Cyclic:
    freed_on: list[str] = []

    def __init__(self) -> None:
        self.me = self

    def __del__(self) -> None:
        _Cyclic.freed_on.append(threading.current_thread().name)


_kept: list = []


def _churn() -> None:
    # Allocations that make a collection fall due on this thread, were automatic collection on.
    _kept.extend([i] for i in range(50_000))


def test_cycles_are_collected_on_the_gui_thread_only(qapp):
    _Cyclic.freed_on.clear()
    was_enabled = gc.isenabled()  # off where an earlier desktop test left it off (tests/conftest.py)
    collector = GuiThreadCollector(interval_ms=10)
    try:
        assert not gc.isenabled()
        _Cyclic()  # unreachable at once, but only a collection frees it
        worker = threading.Thread(target=_churn, name="packing-thread")
        worker.start()
        worker.join()
        assert _Cyclic.freed_on == []  # the worker's allocations collected nothing
        for _ in range(200):
            qapp.processEvents()
            if _Cyclic.freed_on:
                break
            threading.Event().wait(0.01)
        assert _Cyclic.freed_on == [threading.main_thread().name]
    finally:
        collector.stop()
        _kept.clear()
    assert gc.isenabled() == was_enabled, "automatic collection as it was before"
