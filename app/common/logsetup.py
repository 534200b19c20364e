"""Logging setup, and a filter that collapses repeated lines."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

_SUMMARY_TEXT = 500  # characters of the repeated message quoted in its summary


class RepeatCollapser(logging.Filter):
    """Lets the first of a run of identical lines through and counts the rest.

    A line is identical when logger, level and message text are. The count goes out as one line,
    "<message> (repeated 1,234 times)", when a different line arrives, and at most every
    `summary_every` seconds while the run lasts, so an error that repeats in a tight loop (an
    `accept()` failing at the descriptor limit) writes a line every few seconds, not megabytes.
    Install it on a handler (`install_on`); its summaries go to that handler.
    """

    def __init__(self, handler: logging.Handler, summary_every: float = 10.0,
                 clock: Callable[[], float] = time.monotonic):
        super().__init__()
        self._handler = handler
        self._summary_every = summary_every
        self._clock = clock
        self._lock = threading.Lock()
        self._last_key: tuple[str, int, str] | None = None
        self._last_line: tuple[str, int, str, int, str, str] | None = None
        self._repeats = 0
        self._summarised_at = 0.0
        self._emitting_summary = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._emitting_summary, "on", False):
            return True
        key = (record.name, record.levelno, record.getMessage())
        with self._lock:
            if key == self._last_key:
                self._repeats += 1
                if self._clock() - self._summarised_at < self._summary_every:
                    return False
                summary = self._take_summary()
                self._summarised_at = self._clock()
                self._emit(summary)
                return False
            summary = self._take_summary()
            self._last_key = key
            # Not the record itself: its arguments may be large, and they would stay alive.
            self._last_line = (record.name, record.levelno, record.pathname, record.lineno,
                               record.funcName, key[2][:_SUMMARY_TEXT])
            self._summarised_at = self._clock()
        self._emit(summary)
        return True

    def _take_summary(self) -> logging.LogRecord | None:
        if not self._repeats or self._last_line is None:
            return None
        name, level, pathname, lineno, func, text = self._last_line
        summary = logging.LogRecord(name, level, pathname, lineno, "%s (repeated %s times)",
                                    (text, f"{self._repeats:,}"), None, func)
        self._repeats = 0
        return summary

    def _emit(self, summary: logging.LogRecord | None) -> None:
        if summary is None:
            return
        self._emitting_summary.on = True
        try:
            self._handler.handle(summary)
        finally:
            self._emitting_summary.on = False

    def flush(self) -> None:
        """Write the count of a run still in progress (at shutdown)."""
        with self._lock:
            summary = self._take_summary()
        self._emit(summary)

    @classmethod
    def install_on(cls, handler: logging.Handler, **kwargs: Any) -> RepeatCollapser:
        collapser = cls(handler, **kwargs)
        handler.addFilter(collapser)
        return collapser


def setup_logging(debug: bool = False, quiet: bool = False) -> None:
    """Log to stderr at the level asked for, repeated lines collapsed.

    Only the handler made here gets the collapser: handlers someone else installed (a program that
    embeds Tablao, a test runner capturing records) keep every record they are given.
    """
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    root = logging.getLogger()
    before = set(root.handlers)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for handler in root.handlers:
        if handler not in before and not any(isinstance(f, RepeatCollapser) for f in handler.filters):
            RepeatCollapser.install_on(handler)
    # aiohttp's access log is noise at info level on a busy farm.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
