"""Quick calls of one loop iteration share one commit (`Store.try_quick_grouped`), on real SQLite files
and, when TABLAO_TEST_POSTGRES names a server, on a real PostgreSQL database.

Each call keeps its own outcome (a call that raises undoes only its own changes), nothing is visible
to another connection (or kept after a crash) before the shared commit, and the store thread still
gets its turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
import uuid

import peewee as pw
import psycopg2
import pytest

from app.manager.persistence import workers
from app.manager.persistence.db import NotNow, Quick, Store
from app.manager.persistence.models import Worker
from tests.conftest import STORES, TEST_POSTGRES

_NOW = dt.datetime(2026, 1, 1)


@pytest.fixture(params=STORES)
async def store(request, tmp_path):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'test.sqlite'}"
    else:
        name = "tablao_test_quick_" + uuid.uuid4().hex[:12]
        with contextlib.closing(psycopg2.connect(TEST_POSTGRES)) as admin:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f"CREATE DATABASE {name}")
        url = TEST_POSTGRES.rsplit("/", 1)[0] + "/" + name
    store = Store(url)
    await store.open()
    yield store
    await store.close()
    if request.param == "postgres":
        with contextlib.closing(psycopg2.connect(TEST_POSTGRES)) as admin:
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute(f"DROP DATABASE {name}")


def _names_elsewhere(store: Store) -> list[str]:
    """What another program reading the file (another connection to the server) sees: only committed rows."""
    if not store.is_sqlite:
        with contextlib.closing(psycopg2.connect(store.url)) as conn, conn.cursor() as cur:
            cur.execute("SELECT name FROM workers ORDER BY name")
            return [row[0] for row in cur.fetchall()]
    path = store.url[len("sqlite:///"):]
    with contextlib.closing(sqlite3.connect(path)) as other:
        return [row[0] for row in other.execute("SELECT name FROM workers ORDER BY name")]


def _add_worker(name: str) -> int:
    return workers.create_worker(uuid=str(uuid.uuid4()), secret_hash="x", name=name, platform="linux", supported_task_types="misc",
                                 address="", software="", status="awake",
                                 created_at=_NOW, updated_at=_NOW).id


def _add_then_fail(name: str) -> None:
    _add_worker(name)
    raise ValueError("refused after writing")


async def test_calls_of_one_iteration_share_a_commit_and_keep_their_own_outcome(store: Store) -> None:
    applied: list[str] = []
    first = store.try_quick_grouped(_add_worker, "alpha", after_commit=lambda: applied.append("alpha"))
    with pytest.raises(ValueError, match="refused after writing"):
        store.try_quick_grouped(_add_then_fail, "broken", after_commit=lambda: applied.append("broken"))
    second = store.try_quick_grouped(_add_worker, "beta", after_commit=lambda: applied.append("beta"))
    assert isinstance(first, Quick) and isinstance(second, Quick)
    assert first.committed is second.committed  # one commit for the iteration
    # Not kept yet: another connection sees nothing, and nobody has been told.
    assert not first.committed.done() and applied == []
    assert _names_elsewhere(store) == []
    await first.committed
    assert _names_elsewhere(store) == ["alpha", "beta"]  # the failed call's row was undone alone
    assert applied == ["alpha", "beta"]  # effects after the commit, in call order
    third = store.try_quick_grouped(_add_worker, "gamma", after_commit=lambda: None)
    assert isinstance(third, Quick) and third.committed is not first.committed  # the next iteration's own
    await third.committed
    assert store.call_sync(lambda: Worker.select().count()) == 3


async def test_a_failed_commit_tells_every_caller_and_applies_nothing(store: Store) -> None:
    applied: list[str] = []
    quick = store.try_quick_grouped(_add_worker, "alpha", after_commit=lambda: applied.append("alpha"))
    assert isinstance(quick, Quick)
    group = store._group
    assert group is not None

    class _FailingCommit:
        def __exit__(self, *exc: object) -> None:
            group_transaction.__exit__(ValueError, ValueError("disk full"), None)  # ROLLBACK
            raise OSError("disk full")

    group_transaction = group.transaction
    group.transaction = _FailingCommit()
    with pytest.raises(OSError, match="disk full"):
        await quick.committed
    assert applied == [] and _names_elsewhere(store) == []
    again = store.try_quick_grouped(_add_worker, "beta", after_commit=lambda: None)  # the lock was released
    assert isinstance(again, Quick)
    await again.committed
    assert _names_elsewhere(store) == ["beta"]


async def test_the_store_thread_goes_before_an_open_group_takes_more(store: Store) -> None:
    quick = store.try_quick_grouped(_add_worker, "alpha", after_commit=lambda: None)
    assert isinstance(quick, Quick)
    thread_call = store._executor.submit(store._in_transaction, lambda: Worker.select().count())
    # Blocking the loop on purpose: the group cannot commit before the thread asks for its turn.
    assert store._thread_waiting.wait(10), "the store thread never asked for the connection"
    assert store.try_quick_grouped(_add_worker, "beta", after_commit=lambda: None) is NotNow.STORE_BUSY
    await quick.committed
    assert await asyncio.wrap_future(thread_call) == 1  # it ran after the commit, and saw it


async def test_call_sync_on_the_loop_commits_the_open_group_first(store: Store) -> None:
    quick = store.try_quick_grouped(_add_worker, "alpha", after_commit=lambda: None)
    assert isinstance(quick, Quick)
    assert store.call_sync(lambda: Worker.select().count()) == 1  # no deadlock: committed first
    assert quick.committed.done()


async def test_a_status_change_returns_only_once_it_is_committed(manager) -> None:
    """What a handler answers after `run_quick` survives a crash: the row is in the file by then."""
    store = manager.services.store
    assert store.quick_calls  # SQLite and PostgreSQL alike

    def add(fx, now, name: str) -> int:
        return _add_worker(name)
    machine = manager.services.machine
    names = [f"w{i}" for i in range(5)]
    missing: list[str] = []

    async def change(name: str) -> None:
        await machine.run_quick(add, name)
        if name not in _names_elsewhere(store):  # looked at once, as a handler answers its worker
            missing.append(name)
    await asyncio.gather(*(change(name) for name in names))  # together: they share commits
    assert missing == []
    assert _names_elsewhere(store) == names


async def test_a_call_that_cannot_be_undone_alone_rolls_back_its_whole_turn(store: Store) -> None:
    def add_release_and_fail(name: str) -> None:
        _add_worker(name)
        store.db.execute_sql("RELEASE SAVEPOINT quick")  # its savepoint gone: no way to undo it alone
        raise ValueError("refused after writing")

    applied: list[str] = []
    first = store.try_quick_grouped(_add_worker, "alpha", after_commit=lambda: applied.append("alpha"))
    assert isinstance(first, Quick)
    with pytest.raises(Exception, match="no such savepoint|does not exist"):
        store.try_quick_grouped(add_release_and_fail, "broken", after_commit=lambda: applied.append("broken"))
    with pytest.raises(RuntimeError, match="rolled back"):
        await first.committed
    assert applied == [] and _names_elsewhere(store) == []  # nobody was told of anything, nothing kept
    again = store.try_quick_grouped(_add_worker, "beta", after_commit=lambda: None)
    assert isinstance(again, Quick)
    await again.committed
    assert _names_elsewhere(store) == ["beta"]


async def test_a_statement_the_database_refuses_undoes_only_its_own_call(store: Store) -> None:
    """On PostgreSQL the call's SAVEPOINT goes out in one query string with its first statement; a
    statement the server refuses (a unique key) must still leave that savepoint to go back to."""
    def add_with_uuid(name: str, worker_uuid: str) -> int:
        return workers.create_worker(uuid=worker_uuid, secret_hash="x", name=name, platform="linux",
                                     supported_task_types="misc", address="", software="", status="awake",
                                     created_at=_NOW, updated_at=_NOW).id

    taken = str(uuid.uuid4())
    first = store.try_quick_grouped(add_with_uuid, "alpha", taken, after_commit=lambda: None)
    with pytest.raises(pw.IntegrityError):
        store.try_quick_grouped(add_with_uuid, "twin", taken, after_commit=lambda: None)
    second = store.try_quick_grouped(_add_worker, "beta", after_commit=lambda: None)
    assert isinstance(first, Quick) and isinstance(second, Quick)
    await first.committed
    assert _names_elsewhere(store) == ["alpha", "beta"]
