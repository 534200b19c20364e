"""Opening the store: database URL, pragmas, integrity check, migrations, and the store thread.

Every query runs on ONE dedicated thread (`Store.call`). SQLite allows one writer at a time anyway;
funnelling reads and writes through one connection keeps transactions simple (a scheduler claim
is a plain select-then-update, which cannot race) and keeps the event loop free.

Each Manager's `Store` owns its database; no database is bound for the whole process. A Store's
transaction (`call`, `call_sync`, `try_quick`) makes its database the one the query modules use
for that call (`models.enter_store`), so two Managers in one process each query their own; query
functions called outside a Store's transaction raise `models.OutsideStore`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import enum
import functools
import logging
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

import peewee as pw
from playhouse.db_url import connect as connect_url
from playhouse.migrations import Runner

from app.manager.persistence.errors import DatabaseBusy, IntegrityProblem, StoreUnavailable
from app.manager.persistence.models import enter_store, leave_store
from app.manager.persistence.postgres import FewerTrips, open_postgres
from app.manager.persistence.sqlite_lean import LeanSqliteDatabase

_log = logging.getLogger(__name__)
T = TypeVar("T")

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 20_000  # how long the store thread waits for another program's SQLite lock
QUICK_BUSY_TIMEOUT_MS = 50  # the most a quick call on the event loop waits for it
SQLITE_PRAGMAS = {
    "journal_mode": "wal",
    "foreign_keys": 1,
    "synchronous": "normal",
    "busy_timeout": BUSY_TIMEOUT_MS,
    "cache_size": -32_000,
}


class NotNow(enum.Enum):
    """What `Store.try_quick` returns when it did nothing, and what the caller does next."""

    STORE_BUSY = "the store thread holds the connection: `await wait_idle()`, then try again"
    USE_THREAD = ("run it with `call` (neither SQLite nor PostgreSQL, or another program holds SQLite's "
                  "write lock)")

    def __repr__(self) -> str:
        return self.name


_SAVEPOINT, _RELEASE, _ROLLBACK_TO = "SAVEPOINT quick", "RELEASE SAVEPOINT quick", "ROLLBACK TO SAVEPOINT quick"

IDLE_RECHECK_S = 5.0  # the longest `wait_idle` waits for a wake-up that may never come (call_sync)


def open_db(url: str) -> pw.Database:
    """Open a database from a URL (`sqlite:///path` or `postgresql://...`), not yet connected."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        # One connection shared by the store thread and quick calls on the event loop, always
        # under `Store._lock`: thread-local connections would make them two SQLite writers.
        return LeanSqliteDatabase(str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False,
                                  thread_safe=False)
    if url.startswith(("postgresql://", "postgres://")):
        return open_postgres(url)  # one shared connection, BEGIN folded, repeated statements prepared
    return connect_url(url)


def migrate(db: pw.Database) -> list[str]:
    """Apply pending numbered migrations, with foreign keys off (SQLite) as table rebuilds need."""
    is_sqlite = isinstance(db, pw.SqliteDatabase)
    if is_sqlite:
        db.execute_sql("PRAGMA foreign_keys = 0")
    try:
        applied = Runner(db, str(MIGRATIONS_DIR)).up()
    finally:
        if is_sqlite:
            db.execute_sql("PRAGMA foreign_keys = 1")
    for name in applied:
        _log.info("applied migration %s", name)
    return applied


def integrity_check(db: pw.Database) -> None:
    if not isinstance(db, pw.SqliteDatabase):
        return
    rows = db.execute_sql("PRAGMA integrity_check").fetchall()
    if rows != [("ok",)]:
        raise IntegrityProblem(f"database integrity check failed: {rows[:5]}")
    fk_rows = db.execute_sql("PRAGMA foreign_key_check").fetchall()
    if fk_rows:
        raise IntegrityProblem(f"database has {len(fk_rows)} broken foreign keys")


@dataclass
class Quick(Generic[T]):
    """What `Store.try_quick_grouped` did: `result` is kept once `committed` is done."""

    result: T
    committed: asyncio.Future[None]


@dataclass
class _QuickGroup:
    """The quick calls of one loop iteration: one SQLite transaction, each call in a savepoint."""

    transaction: Any  # Peewee's transaction context, entered
    committed: asyncio.Future[None]
    thread: int
    after: list[Callable[[], None]] = field(default_factory=list)
    broken: bool = False  # a call's changes could not be undone: the whole group is rolled back


def in_transaction(db: pw.Database, begin: tuple[Any, ...], fn: Callable[..., T], *args: Any,
                   **kwargs: Any) -> T:
    """`fn(*args, **kwargs)` in one transaction of `db` (`begin`: the arguments of `atomic`), with the
    query modules bound to `db`; a locked or busy database is `DatabaseBusy`."""
    entered = enter_store(db)  # the query modules run on this Manager's database
    try:
        with db.atomic(*begin):
            return fn(*args, **kwargs)
    except pw.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise DatabaseBusy() from exc
        raise
    finally:
        leave_store(entered)


class Store:
    """The Manager's database, with all access on one worker thread.

    `await store.call(fn, *args)` runs `fn(*args)` on the store thread inside a transaction.
    Query modules (`jobs`, `tasks`, `workers`, ...) provide such functions.
    """

    def __init__(self, url: str):
        self.url = url
        self.db = open_db(url)
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="tablao-store")
        self._lock = threading.Lock()
        # Set while the store thread waits for `_lock`. Quick calls then step aside: on a busy
        # farm they come back to back, and an unfair lock would let them starve the thread (a
        # job submission or a dashboard GET then waited minutes behind 10,000 workers' claims).
        self._thread_waiting = threading.Event()
        self._closed = False
        self.quick_calls = self.is_sqlite or isinstance(self.db, FewerTrips)
        self._busy_ms = BUSY_TIMEOUT_MS
        self._begin = ("IMMEDIATE",) if self.is_sqlite else ()
        self._idle_waiters: list[asyncio.Future[None]] = []
        self._group: _QuickGroup | None = None

    @property
    def is_sqlite(self) -> bool:
        return isinstance(self.db, pw.SqliteDatabase)

    async def open(self) -> None:
        await self._submit(self._open_sync)

    def _open_sync(self) -> None:
        with self._thread_lock():
            self._open_locked()

    def _open_locked(self) -> None:
        where = _redacted(self.url)
        try:
            if self.is_sqlite:
                Path(self.db.database).parent.mkdir(parents=True, exist_ok=True)
            self.db.connect(reuse_if_open=True)
            integrity_check(self.db)
            migrate(self.db)
        except pw.ImproperlyConfigured as exc:
            raise StoreUnavailable(
                f"cannot open the database {where}: {exc} Install it with "
                "`pip install psycopg2-binary`, or check `database:` in the Manager's configuration "
                "file (a plain file name means SQLite)."
            ) from None
        except IntegrityProblem as exc:
            raise StoreUnavailable(
                f"the database {where} is damaged ({exc}). Stop the Manager, move the file away and "
                "restore a backup (or start with an empty database)."
            ) from None
        except (pw.DatabaseError, sqlite3.Error, OSError) as exc:
            detail = " ".join(str(exc).split()) or type(exc).__name__
            detail += "" if detail.endswith((".", "?", "!")) else "."
            raise StoreUnavailable(
                f"cannot open the database {where}: {detail} Check `database:` in the Manager's "
                "configuration file, and that the file (or database server) is reachable and writable."
            ) from None

    def open_sync(self) -> None:
        """Open on the store thread from synchronous code (tests, one-shot CLI actions)."""
        self._executor.submit(self._open_sync).result()

    async def call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._submit(self._in_transaction, fn, *args, **kwargs)

    def call_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        self._commit_own_group()  # from the loop's thread, the store thread would wait for it forever
        return self._executor.submit(self._in_transaction, fn, *args, **kwargs).result()

    def try_quick(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T | NotNow:
        """Run `fn` in a transaction right here on the event loop, if that is quick.

        For the short, indexed work of the worker hot path (claims, task updates, may-i-run): the
        hop to the store thread and back costs more than the queries themselves (bench/farm.py).
        Nothing was done when it returns `NotNow.STORE_BUSY` (the store thread is working: `await
        wait_idle()` and try again, rather than queue behind it) or `NotNow.USE_THREAD` (another kind of
        database, or another program holds SQLite's write lock: use `call`, which waits the full busy
        timeout off the loop; the loop waits at most QUICK_BUSY_TIMEOUT_MS for that lock).
        On PostgreSQL the loop waits for the server's answers, and that measured faster than the store
        thread (bench/store_claims.py), whose every answer also waits for the loop to let go of the GIL.
        """
        refused = self._take_quick_lock()
        if refused is not None:
            return refused
        try:
            try:
                return self._transaction(fn, *args, **kwargs)
            except DatabaseBusy:
                _log.info("database locked by another program; continuing on the store thread")
                return NotNow.USE_THREAD
        finally:
            self._lock.release()

    def try_quick_grouped(self, fn: Callable[..., T], *args: Any, after_commit: Callable[[], None],
                          **kwargs: Any) -> Quick[T] | NotNow:
        """`try_quick` that shares its commit with the other quick calls of this loop iteration.

        A commit writes every page the transaction changed to the write-ahead log; the claims and
        task updates of one iteration change mostly the same pages (the job's rows, the hand-out
        index), so one commit for all of them writes far fewer. Each call runs in a savepoint: one
        that raises undoes only its own changes, and raises to its caller alone. Nothing is kept
        before `committed` is done: a caller answers its worker only then (a crash before the
        commit loses the whole iteration, and nobody was told of any of it). `after_commit` runs
        right after the commit, in call order, also when its caller was cancelled meanwhile; when
        the commit fails, `committed` carries the error and no `after_commit` runs.

        Returns NotNow as `try_quick` does (the store thread goes before a new or open group).
        """
        group = self._group
        if group is None:
            refused = self._take_quick_lock()
            if refused is not None:
                return refused
            try:
                group = self._open_group()
            except DatabaseBusy:
                self._lock.release()
                _log.info("database locked by another program; continuing on the store thread")
                return NotNow.USE_THREAD
            except BaseException:
                self._lock.release()
                raise
        elif self._thread_waiting.is_set():
            return NotNow.STORE_BUSY  # the group commits next iteration; the thread goes then
        result = self._in_savepoint(fn, *args, **kwargs)
        group.after.append(after_commit)
        return Quick(result, group.committed)

    def _take_quick_lock(self) -> NotNow | None:
        """Hold the store for a quick call on the loop (None), or say why not: another kind of database,
        or the store thread is working or waiting for its turn."""
        if not self.quick_calls:
            return NotNow.USE_THREAD
        if self._thread_waiting.is_set() or not self._lock.acquire(blocking=False):
            return NotNow.STORE_BUSY
        try:
            self._set_busy_timeout(QUICK_BUSY_TIMEOUT_MS)
        except BaseException:
            self._lock.release()
            raise
        return None

    def _open_group(self) -> _QuickGroup:
        loop = asyncio.get_running_loop()
        transaction = self.db.transaction(*self._begin)
        try:
            transaction.__enter__()
        except pw.OperationalError as exc:
            if "locked" in str(exc) or "busy" in str(exc):
                raise DatabaseBusy() from exc
            raise
        group = self._group = _QuickGroup(transaction, loop.create_future(), threading.get_ident())
        # Runs in the next iteration: after every quick call this one let through (`LoopTurns`).
        loop.call_soon(self._commit_group, group)
        return group

    def _in_savepoint(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # One fixed name, not Peewee's `savepoint()` (a new name per call): the same three statement
        # texts stay prepared in sqlite3's statement cache instead of being compiled for every call.
        # Peewee's own `atomic()` inside `fn` still nests (the group's transaction is on its stack).
        db, group = self.db, self._group
        # PostgreSQL: SAVEPOINT and RELEASE go out with the call's next statement (no round trips).
        later = db.execute_later if isinstance(db, FewerTrips) else db.execute_sql
        entered = enter_store(db)
        try:
            later(_SAVEPOINT)
            try:
                result = fn(*args, **kwargs)
            except BaseException:
                try:
                    db.execute_sql(_ROLLBACK_TO)
                    db.execute_sql(_RELEASE)
                except BaseException:
                    if group is not None:
                        group.broken = True  # its other calls' changes cannot be told apart: undo all
                    raise
                raise
            later(_RELEASE)
            return result
        finally:
            leave_store(entered)

    def _commit_group(self, group: _QuickGroup) -> None:
        if self._group is not group:
            return  # committed early (`call_sync` from the loop's thread)
        self._group = None
        try:
            if group.broken:
                broken = RuntimeError("a quick call could not be undone alone; its loop turn was rolled back")
                group.transaction.__exit__(RuntimeError, broken, None)  # ROLLBACK
                raise broken
            group.transaction.__exit__(None, None, None)  # COMMIT; on failure ROLLBACK, then raise
        except BaseException as exc:
            self._lock.release()
            _log.error("committing %d quick calls failed: %s", len(group.after), exc)
            group.committed.set_exception(exc)
            return
        self._lock.release()
        for after in group.after:
            try:
                after()
            except Exception:  # noqa: BLE001 - one caller's effects must not stop the others'
                _log.exception("applying the effects of a quick call failed")
        group.committed.set_result(None)

    def _commit_own_group(self) -> None:
        group = self._group
        if group is not None and group.thread == threading.get_ident():
            self._commit_group(group)

    async def wait_idle(self) -> None:
        """Wait until the store thread finishes its current piece of work."""
        waiter = asyncio.get_running_loop().create_future()
        self._idle_waiters.append(waiter)
        # Every job of the store thread wakes the waiters when it ends. Only jobs submitted from
        # synchronous code (`call_sync`: tests, one-shot commands) wake nobody: look again now and
        # then. Not often: a caller that looks again too early takes a later place in the line
        # (`StatusMachine.run_quick`), and a store job can take a second on a loaded machine.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(IDLE_RECHECK_S):
                await waiter

    def wake_idle_waiters(self) -> None:
        """Let every `wait_idle` caller look again now."""
        self._wake_idle_waiters()

    def _wake_idle_waiters(self) -> None:
        waiters, self._idle_waiters = self._idle_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def _in_transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        with self._thread_lock():
            self._set_busy_timeout(BUSY_TIMEOUT_MS)
            return self._transaction(fn, *args, **kwargs)

    @contextlib.contextmanager
    def _thread_lock(self):
        """`_lock` for the store thread, which goes before any quick call that has not started."""
        if not self._lock.acquire(blocking=False):
            self._thread_waiting.set()
            try:
                self._lock.acquire()
            finally:
                self._thread_waiting.clear()
        try:
            yield
        finally:
            self._lock.release()

    def _set_busy_timeout(self, ms: int) -> None:
        # Called with the lock held. Quick calls come in runs, so this rarely executes a PRAGMA.
        if self.is_sqlite and self._busy_ms != ms:
            self.db.execute_sql(f"PRAGMA busy_timeout = {int(ms)}")
            self._busy_ms = ms

    def _transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        # SQLite: take the write lock at BEGIN. A deferred transaction that reads and then
        # writes gets SQLITE_BUSY at once, without waiting, when another program holds the
        # lock; BEGIN IMMEDIATE waits for it (busy timeout) before anything was read.
        return in_transaction(self.db, self._begin, fn, *args, **kwargs)

    async def _submit(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        job = self._executor.submit(functools.partial(fn, *args, **kwargs))
        # Whenever a store-thread job ends (even if its caller was cancelled), quick calls that
        # found the connection taken get another try. Registered before the job can end unseen:
        # a waiter is only added while the lock is held, and this fires after the release.
        job.add_done_callback(lambda _: _call_soon(loop, self._wake_idle_waiters))
        return await asyncio.wrap_future(job, loop=loop)

    async def checkpoint(self) -> None:
        if self.is_sqlite:
            await self._submit(self._locked, self.db.execute_sql, "PRAGMA wal_checkpoint(TRUNCATE)")

    def _locked(self, fn: Callable[..., T], *args: Any) -> T:
        # Everything that touches the shared connection holds the lock, transactions or not.
        with self._thread_lock():
            self._set_busy_timeout(BUSY_TIMEOUT_MS)
            return fn(*args)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            await self._submit(self._close_sync)
        finally:
            self._executor.shutdown(wait=True)

    def close_sync(self) -> None:
        self._commit_own_group()
        if not self._closed:
            self._closed = True
            self._executor.submit(self._close_sync).result()
            self._executor.shutdown(wait=True)

    def _close_sync(self) -> None:
        with self._thread_lock():
            self._close_locked()

    def _close_locked(self) -> None:
        if not self.db.is_closed():
            if self.is_sqlite:
                with contextlib.suppress(pw.OperationalError, sqlite3.Error):
                    self.db.execute_sql("PRAGMA optimize")
            self.db.close()


def _call_soon(loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is closed: nobody is waiting any more
        loop.call_soon_threadsafe(callback)


def _redacted(url: str) -> str:
    """The URL for messages: a password in it is replaced by ***."""
    if url.startswith("sqlite:///"):
        return url[len("sqlite:///"):]
    return re.sub(r"(://[^:/@]*):[^@/]*@", r"\1:***@", url)
