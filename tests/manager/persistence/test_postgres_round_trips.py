"""PostgreSQL's connection (`postgres.FewerTrips`) against a real server: round trips per claim and per
completion over real HTTP, and that folding BEGIN, preparing statements and sending writes later keep
what a transaction means. Run when TABLAO_TEST_POSTGRES names a server (as CI does)."""

from __future__ import annotations

import uuid

import peewee as pw
import psycopg2
import pytest

from app.manager.persistence.db import Store
from app.manager.persistence.postgres import FewerTrips
from tests.conftest import TEST_POSTGRES, echo_job
from tests.http_worker import HttpWorker

pytestmark = pytest.mark.skipif(not TEST_POSTGRES, reason="needs TABLAO_TEST_POSTGRES (a PostgreSQL server)")


async def test_a_claim_and_a_completion_take_few_round_trips(manager, store_kind):
    if store_kind != "postgres":
        pytest.skip("counts PostgreSQL's round trips")
    db = manager.services.store.db
    assert isinstance(db, FewerTrips)
    await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=8))
    w = await HttpWorker(manager.url, name="trips").register_and_sign_on()
    try:
        claims, completions = [], []
        for _ in range(6):  # the first ones prepare their statements (one round trip each, once)
            before = db.round_trips
            status, task = await w.claim()
            assert status == 200, task
            claims.append(db.round_trips - before)
            before = db.round_trips
            assert (await w.complete(task["uuid"]))[0] == 204
            completions.append(db.round_trips - before)
    finally:
        await w.close()
    # Before: BEGIN, 6 statements, COMMIT for each (8 and 8); then 5 and 4. Now a claim reads the worker,
    # its active task and (for the task types of its last claim) the best task with its row in one
    # statement; a completion reads the task with, in the same statement, the dependents' shift and the
    # job's "anything left" read (when the task is the worker's active one). The task's writes go out
    # with the loop turn's COMMIT (one for every call of the turn; here, alone).
    assert max(claims[-3:]) <= 2, claims
    assert max(completions[-3:]) <= 2, completions


async def _sign_on_with(w: HttpWorker, task_types: list[str]) -> None:
    w.task_types = task_types
    status, body = await w.call("POST", "/api/v3/worker/sign-on", json={
        "name": w.name, "supported_task_types": task_types, "software_version": "test"})
    assert status == 200, body
    status, _ = await w.call("POST", "/api/v3/worker/state-changed", json={"status": body["status_requested"]})
    assert status == 204


async def test_a_claim_asks_for_the_task_types_the_worker_has_now(manager, store_kind):
    """A claim's first statement carries the claim query for the task types of the worker's last claim;
    after the worker signs on with other types, that guess must not hand out a task it can no longer run."""
    await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=6))  # "misc" tasks
    w = await HttpWorker(manager.url, name="types").register_and_sign_on()
    try:
        for _ in range(2):
            status, task = await w.claim()
            assert status == 200, task
            assert (await w.complete(task["uuid"]))[0] == 204
        await _sign_on_with(w, ["ffmpeg"])
        status, task = await w.claim()
        assert status == 204, task  # nothing of type "ffmpeg" is queued
        await _sign_on_with(w, ["misc"])
        status, task = await w.claim()
        assert status == 200, task
    finally:
        await w.close()


@pytest.fixture
def pg_store():
    name = "tablao_test_trips_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(TEST_POSTGRES)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    store = Store(TEST_POSTGRES.rsplit("/", 1)[0] + "/" + name)
    store.open_sync()
    store.call_sync(lambda: store.db.execute_sql("CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL)"))
    yield store
    store.close_sync()
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE {name}")
    admin.close()


def _values(store: Store) -> list[tuple]:
    return store.call_sync(lambda: store.db.execute_sql("SELECT id, v FROM t ORDER BY id").fetchall())


def test_writes_sent_later_are_undone_by_a_rollback_and_fail_their_transaction(pg_store):
    db = pg_store.db

    def write_then_fail():
        db.execute_later("INSERT INTO t (id, v) VALUES (%s, %s)", [1, 10])
        raise RuntimeError("the status change went wrong")

    with pytest.raises(RuntimeError):
        pg_store.call_sync(write_then_fail)
    assert _values(pg_store) == []  # never sent

    def bad_write_later():
        db.execute_later("INSERT INTO t (id, v) VALUES (%s, %s)", [2, 20])
        db.execute_later("INSERT INTO t (id, v) VALUES (%s, %s)", [3, None])  # NOT NULL: fails at COMMIT

    with pytest.raises(pw.IntegrityError):
        pg_store.call_sync(bad_write_later)
    assert _values(pg_store) == []  # the whole transaction, the good write too

    def write_then_read():
        db.execute_later("INSERT INTO t (id, v) VALUES (%s, %s)", [4, 40])
        return db.execute_sql("SELECT v FROM t WHERE id = %s", [4]).fetchone()

    assert pg_store.call_sync(write_then_read) == (40,)  # a read sees the writes before it
    assert _values(pg_store) == [(4, 40)]


def test_a_statement_the_server_cannot_prepare_runs_as_it_is(pg_store):
    db = pg_store.db

    def twice():
        # `%s IS NULL` gives the server no type for its parameter: PREPARE fails (under a savepoint).
        db.execute_sql("INSERT INTO t (id, v) VALUES (%s, %s)", [5, 50])
        first = db.execute_sql("SELECT %s IS NULL", [None]).fetchone()
        second = db.execute_sql("SELECT %s IS NULL", [None]).fetchone()
        return first, second

    assert pg_store.call_sync(twice) == ((True,), (True,))
    assert _values(pg_store) == [(5, 50)]  # the failed PREPARE did not undo the transaction's write
    for v in (51, 52, 53):  # a prepared UPDATE keeps its meaning (and its row count)
        count = pg_store.call_sync(lambda v=v: db.execute_sql("UPDATE t SET v = %s WHERE id = %s", [v, 5]).rowcount)
        assert count == 1
    assert _values(pg_store) == [(5, 53)]
    assert any(sql.startswith("UPDATE t") for sql in db._prepared)


@pytest.mark.slow
async def test_a_lock_held_by_another_program_stops_the_manager_for_a_bounded_time(manager, store_kind):
    """The worker hot path's calls run on the event loop, so a lock another session holds (an open
    transaction in `psql`) would hold every request of the Manager while it lasts. The session's
    `lock_timeout` bounds that: the claim fails with an error the worker retries while the lock is
    still held, and once it is let go the same task is handed out; nothing stored is lost."""
    if store_kind != "postgres":
        pytest.skip("PostgreSQL's lock timeout")
    import threading

    from app.manager.persistence.postgres import LOCK_TIMEOUT_MS

    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    assert status == 200, job
    status, before = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    assert status == 200 and {t["status"] for t in before["tasks"]} == {"queued"}
    w = await HttpWorker(manager.url, name="locked-out").register_and_sign_on()
    db = manager.services.store.db
    locked, let_go = threading.Event(), threading.Event()
    outcome: dict[str, bool] = {}

    def hold_the_lock() -> None:
        conn = psycopg2.connect(host=db.connect_params.get("host"), port=db.connect_params.get("port"),
                                user=db.connect_params.get("user"), dbname=db.database)
        try:
            with conn.cursor() as cur:  # psycopg2 opens a transaction: the lock lasts until rollback
                cur.execute("LOCK TABLE tasks IN EXCLUSIVE MODE")  # reads go on, writes wait
                locked.set()
                outcome["let_go_by_the_test"] = let_go.wait(LOCK_TIMEOUT_MS / 1000 * 6)
            conn.rollback()
        finally:
            conn.close()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    try:
        assert locked.wait(10)
        status, body = await w.claim()
        still_held = not let_go.is_set() and holder.is_alive()
        let_go.set()
        holder.join(60)
        assert still_held and outcome.get("let_go_by_the_test"), "the claim waited for the lock's end"
        assert status == 503 and "lock" in body["message"], (status, body)  # try again, not a crash
        status, task = await w.claim()  # the lock gone: the same work is handed out
        assert status == 200, task
        assert task["job"] == job["id"]
        status, after = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
        assert status == 200
        assert {t["id"]: t["status"] for t in after["tasks"]} == {
            t["id"]: "active" if t["id"] == task["uuid"] else "queued" for t in before["tasks"]}
    finally:
        let_go.set()
        holder.join(60)
        await w.close()
