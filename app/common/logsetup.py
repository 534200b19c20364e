"""Logging setup, plus a ring-buffer handler the UI's log view can attach to."""

from __future__ import annotations

import collections
import logging


class RingBufferHandler(logging.Handler):
    """Keeps the last `capacity` formatted records in memory."""

    def __init__(self, capacity: int = 2000):
        super().__init__()
        self.records: collections.deque[str] = collections.deque(maxlen=capacity)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.records.append(self.format(record))
        except Exception:  # noqa: BLE001
            self.handleError(record)


def setup_logging(debug: bool = False, quiet: bool = False) -> None:
    level = logging.DEBUG if debug else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    # aiohttp's access log is noise at info level on a busy farm.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
