"""Small asyncio helpers the worker relies on for clean cancellation.

`with suppress(CancelledError): await task` after `task.cancel()` also swallows a cancellation of
the *caller* that arrives meanwhile, and Python 3.11's `asyncio.wait_for` can drop one too when the
awaited thing finishes at the same moment. Either leaves a worker that cannot be stopped, so the
worker uses `cancel_and_wait` and `asyncio.timeout` instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

_log = logging.getLogger(__name__)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel `tasks` and wait until all have finished; the caller's own cancellation still propagates."""
    for task in tasks:
        task.cancel()
    pending = [task for task in tasks if not task.done()]
    if pending:
        await asyncio.wait(pending)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            # Retrieve it so asyncio does not warn; the task's owner already logged what mattered.
            _log.debug("task %s ended with %r while being cancelled", task.get_name(), task.exception())
