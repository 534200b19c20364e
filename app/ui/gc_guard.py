"""Python's cyclic garbage collection, run on the GUI thread only.

A reference cycle that holds Qt objects (a closed dialog, its slots and timers) is freed by whichever
thread happens to allocate when a collection falls due: a packing, hashing or store thread, say.
PySide then deletes the C++ objects on that thread while the GUI thread's timer list still points
at them, and the app crashes in `QCoreApplication::notify` (seen with the submit dialog while
Blender Asset Tracer rewrote a .blend on a worker thread). So automatic collection is switched off
and a timer on the GUI thread runs it instead, by the same generation thresholds.
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QObject, QTimer

_log = logging.getLogger(__name__)

INTERVAL_MS = 250


class GuiThreadCollector(QObject):
    """While it runs, garbage cycles are collected on the thread that made it (the GUI thread)."""

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None):
        super().__init__(parent)
        self._thresholds = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer = QTimer(self)
        self._timer.timeout.connect(self.collect_due)
        self._timer.start(interval_ms)

    def collect_due(self) -> int:
        """Collect the oldest generation whose threshold is passed; returns it (-1: none was due)."""
        counts, thresholds = gc.get_count(), self._thresholds
        generation = -1
        for gen in range(3):
            if thresholds[gen] and counts[gen] > thresholds[gen]:
                generation = gen
        if generation >= 0:
            gc.collect(generation)
        return generation

    def stop(self) -> None:
        """Back to automatic collection, after one full collection here."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
