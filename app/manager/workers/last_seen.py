"""Workers' "last seen" times from idle re-polls, written in batches.

A farm of 10,000 idle workers re-polls its long-poll 500 times a second. A re-poll that the work
queue answers without the scheduler query (nothing changed since the worker's last claim found
nothing, see `app.manager.scheduling.waiters`) still cost a store transaction, only to move `last_seen_at`
forward. Here the time waits in memory and goes to the database for every worker at once, in one
transaction, at most FLUSH_EVERY_S later. The timeout check flushes before it reads the times, and
so does shutdown; a crash loses at most FLUSH_EVERY_S of "last seen", never a job, task or status.

What the API answers is `seen_at`: the stored time, the pending one when newer, and "now" while one
of the worker's long-polls is held open (`holding`): a worker waiting in a held request is there,
connected, though its last request began up to a minute ago.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from app.manager.persistence import workers
from app.manager.runtime.write_behind import WriteBehind

FLUSH_EVERY_S = 2.0

# Runs `fn(fx, now, *args)` in a store transaction: `StatusMachine.run_quick`.
Runner = Callable[..., Awaitable[Any]]


class LastSeen:
    def __init__(self, run: Runner, flush_every_s: float = FLUSH_EVERY_S) -> None:
        self._run = run
        # worker id -> when it was last seen: a newer time replaces the pending one.
        self._batch: WriteBehind[dict[int, dt.datetime]] = WriteBehind(
            "workers' last-seen times", self._write, dict, _keep_older, flush_every_s)
        self._held: dict[int, int] = {}  # worker id -> its requests held open now

    @property
    def flush_every_s(self) -> float:
        return self._batch.flush_every_s

    @flush_every_s.setter
    def flush_every_s(self, seconds: float) -> None:
        self._batch.flush_every_s = seconds

    @property
    def flushes(self) -> int:
        """Batches written (tests, benches)."""
        return self._batch.flushes

    def note(self, worker_id: int, now: dt.datetime) -> None:
        """The worker was seen at `now` (naive UTC, like the database's times)."""
        self._batch.pending[worker_id] = now
        self._batch.soon()

    def pending(self, worker_id: int) -> dt.datetime | None:
        return self._batch.pending.get(worker_id)

    @contextlib.contextmanager
    def holding(self, worker_id: int) -> Iterator[None]:
        """While inside, one of the worker's requests is held open: it counts as seen at every moment."""
        self._held[worker_id] = self._held.get(worker_id, 0) + 1
        try:
            yield
        finally:
            left = self._held[worker_id] - 1
            if left:
                self._held[worker_id] = left
            else:
                del self._held[worker_id]

    def seen_at(self, worker_id: int, stored: dt.datetime | None, now: dt.datetime) -> dt.datetime | None:
        """When the worker was last seen, as the API should say it (naive UTC, like `stored` and `now`)."""
        if worker_id in self._held:
            return now
        pending = self._batch.pending.get(worker_id)
        if pending is not None and (stored is None or pending > stored):
            return pending
        return stored

    async def flush(self) -> None:
        """Write what is pending now (before reading the times, and at shutdown)."""
        await self._batch.flush()

    async def close(self) -> None:
        await self._batch.close()

    async def _write(self, batch: dict[int, dt.datetime]) -> None:
        await self._run(_write_sync, batch)


def _keep_older(pending: dict[int, dt.datetime], unwritten: dict[int, dt.datetime]) -> None:
    """Times that were not written stay pending, unless a newer one came meanwhile."""
    for worker_id, when in unwritten.items():
        pending.setdefault(worker_id, when)


def _write_sync(fx: Any, now: dt.datetime, batch: dict[int, dt.datetime]) -> None:
    workers.set_last_seen(batch)
