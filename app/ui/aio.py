"""`spawn(coro)`: start a coroutine on the app's asyncio loop from a Qt callback.

Timers and signals can fire while the program winds down, after the loop stopped; such late work
is dropped quietly instead of raising from inside Qt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        coro.close()
        return None
    return loop.create_task(coro)
