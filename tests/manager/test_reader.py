"""A job's answer is read on the reader's own connection, beside the store thread, on a real Manager with
a real SQLite store: it comes while the store thread is busy, shows what was committed, and the reader
can never write."""

from __future__ import annotations

import asyncio
import threading

import peewee as pw
import pytest

from app.manager.persistence.models import Job
from app.manager.persistence.reader import Reader
from tests.conftest import echo_job


def _sqlite_only(manager) -> None:
    if not manager.services.store.is_sqlite:
        pytest.skip("on PostgreSQL the reads go through the store (its server reads beside the writes)")


async def test_a_jobs_answer_does_not_wait_for_a_busy_store_thread(manager):
    _sqlite_only(manager)
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    assert status == 200, job
    held, release = threading.Event(), threading.Event()

    def busy() -> None:  # a long piece of store work (a big write, a long read)
        held.set()
        release.wait(30)

    store_work = asyncio.ensure_future(manager.services.store.call(busy))
    try:
        await asyncio.to_thread(held.wait, 10)
        # Bounded only so that the old behaviour fails instead of hanging: it waited for `busy`.
        status, fetched = await asyncio.wait_for(manager.request("GET", f"/api/v3/jobs/{job['id']}"), 10)
        assert not store_work.done()
    finally:
        release.set()
        await store_work
    assert status == 200 and fetched["id"] == job["id"] and fetched["status"] == "queued"
    # A change committed by the store is in the next answer.
    status, _ = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                      json={"status": "cancel-requested", "reason": "test"})
    assert status == 204
    status, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert status == 200 and fetched["status"] in ("cancel-requested", "canceled")


async def test_the_reader_cannot_write(manager):
    _sqlite_only(manager)
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200, job
    reader = manager.services.reader

    def rename() -> int:
        return Job.update(name="changed").where(Job.uuid == job["id"]).execute()

    with pytest.raises(pw.OperationalError, match="readonly|read-only|read only"):
        await reader.call(rename)
    status, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert fetched["name"] == job["name"]


async def test_an_in_memory_store_is_read_through_the_store(tmp_path):
    from app.manager.persistence.db import Store

    store = Store("sqlite:///:memory:")
    await store.open()
    reader = Reader(store)
    try:
        assert await reader.call(lambda: Job.select().count()) == 0  # the store's own connection
    finally:
        await reader.close()
        await store.close()
