"""Dashboard reads on a read-only SQLite connection of their own, on a thread of their own.

The store has one connection and one thread (`db.Store`), and the worker hot path's claims and
task updates hold that connection in every loop iteration. A read that a person waits for (a job's
answer, the ETA reading behind it) queued on the store thread behind the farm's writes and behind
other long reads: with 10,000 workers a dashboard's `GET /api/v3/jobs/{id}` waited up to 1.2 s, and
while the store thread read every worker and task for the ETAs, the workers' quick calls stood
aside for it. SQLite in WAL mode lets a reader work beside the writer on a snapshot of what was
committed, so these reads go to a `Reader` instead: one more connection (`query_only`, so it can
never write) and one thread. They see every committed change (a worker is answered only after its
change is committed) and nothing that is not.

PostgreSQL (whose server runs reads side by side anyway) and databases a second connection cannot
open (an in-memory one) keep using the store.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
from collections.abc import Callable
from typing import Any, TypeVar

import peewee as pw

from app.manager.persistence.db import Store, in_transaction

T = TypeVar("T")

READER_PRAGMAS = {
    "query_only": 1,
    "busy_timeout": 5_000,
    "cache_size": -4_000,  # KiB: the job and ETA reads touch a few MiB; the store has the big cache
}


class Reader:
    """`await reader.call(fn, *args)`: `fn(*args)` in a read transaction on the reader's connection."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._db: pw.SqliteDatabase | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        path = store.db.database if store.is_sqlite else ""
        if path and path != ":memory:" and not path.startswith("file:"):
            self._db = pw.SqliteDatabase(path, pragmas=READER_PRAGMAS, check_same_thread=False)
            self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tablao-reader")

    async def call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            return await self.store.call(fn, *args)
        loop = asyncio.get_running_loop()
        return await asyncio.wrap_future(self._executor.submit(functools.partial(self._read, fn, *args)),
                                         loop=loop)

    def _read(self, fn: Callable[..., T], *args: Any) -> T:
        db = self._db
        assert db is not None
        db.connect(reuse_if_open=True)
        return in_transaction(db, (), fn, *args)  # one snapshot for the whole call

    async def close(self) -> None:
        if self._executor is None:
            return
        executor, self._executor = self._executor, None
        try:
            await asyncio.wrap_future(executor.submit(self._close_sync))
        finally:
            executor.shutdown(wait=False)

    def _close_sync(self) -> None:
        if self._db is not None and not self._db.is_closed():
            with contextlib.suppress(pw.OperationalError):
                self._db.close()
