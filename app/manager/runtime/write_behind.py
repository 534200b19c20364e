"""Write-behind: what the hot path notes waits in memory and goes to the store in one batch.

A worker's idle re-poll or task report should not cost a store transaction of its own only to
move a "last seen" time or to add a history row (bench/farm.py). `WriteBehind` owns the pending
batch of such writes: the first thing noted starts a timer, and at most `flush_every_s` later the
whole batch is written at once. Readers that need the store to be current call `flush` first, and
`close` flushes at shutdown, so a crash loses at most `flush_every_s` of them. A write that fails
loses nothing: its batch goes back into the pending one (`restore` decides how, so a newer value
noted meanwhile wins) and is written with the next.

The owner keeps the batch's meaning: a dict that coalesces by key, a list that keeps order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sized
from typing import Generic, TypeVar

_log = logging.getLogger(__name__)

B = TypeVar("B", bound=Sized)


class WriteBehind(Generic[B]):
    """A pending batch (`pending`, a dict or a list the owner adds to) and the timer that writes it.

    `write(batch)` stores one batch (in one store transaction); `new_batch()` makes an empty one;
    `restore(pending, unwritten)` puts a batch whose write failed back into the pending one.
    """

    def __init__(self, name: str, write: Callable[[B], Awaitable[None]], new_batch: Callable[[], B],
                 restore: Callable[[B, B], None], flush_every_s: float) -> None:
        self.name = name
        self.flush_every_s = flush_every_s
        self._write, self._new_batch, self._restore = write, new_batch, restore
        self.pending: B = new_batch()
        self._timer: asyncio.Task[None] | None = None
        self.flushes = 0  # batches written (tests, benches)

    def soon(self) -> None:
        """Something was added to `pending`: write it within `flush_every_s`."""
        if self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._flush_later(), name=self.name)

    async def _flush_later(self) -> None:
        try:
            await asyncio.sleep(self.flush_every_s)
        finally:
            self._timer = None  # what is noted from now on starts a new timer
        try:
            await self.flush()
        except Exception:  # noqa: BLE001 - the batch stays pending and goes with the next one
            _log.exception("writing the %s failed", self.name)

    async def flush(self, even_empty: bool = False) -> bool:
        """Write what is pending now; True when a batch was written. `even_empty`: call `write`
        with an empty batch too (its owner has other work for the same transaction)."""
        if not len(self.pending) and not even_empty:
            return False
        batch, self.pending = self.pending, self._new_batch()
        try:
            await self._write(batch)
        except BaseException:
            self._restore(self.pending, batch)
            raise
        self.flushes += 1
        return True

    async def close(self) -> None:
        """Stop the timer and write what is pending (shutdown)."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
        await self.flush()
