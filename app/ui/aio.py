"""`spawn(coro)`: start a coroutine on the app's asyncio loop from a Qt callback; `settle(future,
value)`: answer a future from a signal that may fire more than once.

Timers and signals can fire while the program winds down, after the loop stopped; such late work
is dropped quietly instead of raising from inside Qt.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def spawn(coro: Coroutine[Any, Any, Any]) -> asyncio.Task | None:
    try:
        loop = asyncio.get_event_loop_policy().get_event_loop()
    except RuntimeError:
        loop = None
    if loop is None or loop.is_closed():
        coro.close()
        return None
    return loop.create_task(coro)


def settle(future: asyncio.Future[T], value: T) -> None:
    """Give `future` its result unless it has one (or was cancelled) already."""
    if not future.done():
        future.set_result(value)
