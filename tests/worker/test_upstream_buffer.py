"""The upstream buffer: direct delivery, queueing through outages, order, and crash safety."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from app.worker.client import WorkerClient, new_secret
from app.worker.config import WorkerConfig, save_credentials
from app.worker.service import flush_and_exit
from app.worker.upstream_buffer import SendResult, UpstreamBuffer
from tests.worker.fake_manager import FakeManager


async def _registered_client(manager: FakeManager) -> WorkerClient:
    client = WorkerClient(manager.url)
    client.credentials = await client.register("buffer-test", ["misc"], new_secret())
    return client


def _assign(manager: FakeManager, client: WorkerClient, *task_ids: str) -> None:
    assert client.credentials is not None
    for task_id in task_ids:
        manager.assigned[task_id] = client.credentials.worker_id


def _rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT task_id, payload FROM task_updates ORDER BY id").fetchall()


async def _open(client: WorkerClient, db: Path) -> UpstreamBuffer:
    buffer = UpstreamBuffer(client, db, retry_min_s=0.05, retry_max_s=0.1)
    await buffer.open()
    return buffer


async def test_updates_go_directly_while_manager_is_up(fake_manager: FakeManager, tmp_path: Path) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1")
    buffer = await _open(client, tmp_path / "q.sqlite")
    assert await buffer.send("t1", {"activity": "one"}) is SendResult.DELIVERED
    assert fake_manager.updates == [("t1", {"activity": "one"})]
    assert _rows(tmp_path / "q.sqlite") == []
    await buffer.close()
    await client.close()


async def test_outage_queues_in_order_and_delivers_all_after(
    fake_manager: FakeManager, tmp_path: Path
) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1", "t2")
    db = tmp_path / "q.sqlite"
    buffer = await _open(client, db)
    flusher = asyncio.create_task(buffer.run())

    assert await buffer.send("t1", {"activity": "before", "steps_completed": 0}) is SendResult.DELIVERED
    await fake_manager.stop()  # connection refused from now on
    for n in range(1, 21):
        assert await buffer.send("t1" if n % 2 else "t2", {"steps_completed": n}) is SendResult.QUEUED
    assert len(_rows(db)) == 20

    await fake_manager.start()  # same port
    # Even when the Manager is back, a new update must wait behind the queued ones.
    await buffer.send("t1", {"activity": "after"})
    # The row is deleted just after the Manager answered, so wait for both.
    await asyncio.wait_for(_until(lambda: len(fake_manager.updates) == 22 and not _rows(db)), 10)

    sent = [p.get("activity", p.get("steps_completed")) for _, p in fake_manager.updates]
    assert sent == ["before", *range(1, 21), "after"]
    assert _rows(db) == []
    flusher.cancel()
    await buffer.close()
    await client.close()


async def test_5xx_counts_as_unreachable(fake_manager: FakeManager, tmp_path: Path) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1")
    buffer = await _open(client, tmp_path / "q.sqlite")
    fake_manager.fail_with = 503
    assert await buffer.send("t1", {"activity": "x"}) is SendResult.QUEUED
    fake_manager.fail_with = None
    assert await buffer.flush(5)
    assert fake_manager.updates == [("t1", {"activity": "x"})]
    await buffer.close()
    await client.close()


async def test_queue_survives_a_worker_restart(fake_manager: FakeManager, tmp_path: Path) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1")
    db = tmp_path / "q.sqlite"
    buffer = await _open(client, db)
    await fake_manager.stop()
    for n in range(5):
        await buffer.send("t1", {"steps_completed": n})
    await buffer.close()  # the worker "crashes": nothing but the file remains
    await fake_manager.start()

    restarted = await _open(client, db)
    assert await restarted.queue_size() == 5
    # Pending updates from the last run go before anything new.
    assert await restarted.send("t1", {"steps_completed": 99}) is SendResult.QUEUED
    assert await restarted.flush(5)
    assert [p["steps_completed"] for _, p in fake_manager.updates] == [0, 1, 2, 3, 4, 99]
    await restarted.close()
    await client.close()


async def test_queued_updates_of_reassigned_tasks_are_discarded(
    fake_manager: FakeManager, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.worker")
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "mine")
    buffer = await _open(client, tmp_path / "q.sqlite")
    rejected: list[str] = []
    buffer.add_rejection_listener(rejected.append)
    await fake_manager.stop()
    await buffer.send("gone", {"activity": "lost cause"})
    await buffer.send("mine", {"activity": "keep"})
    await fake_manager.start()
    assert await buffer.flush(5)
    assert fake_manager.updates == [("mine", {"activity": "keep"})]
    assert rejected == ["gone"]
    assert "no longer assigned" in caplog.text
    # With the queue empty, updates go directly again, and a 409 is reported as such.
    assert await buffer.send("gone", {"activity": "again"}) is SendResult.REJECTED
    await buffer.close()
    await client.close()


async def test_flush_and_exit_delivers_pending_updates(fake_manager: FakeManager, tmp_path: Path) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1")
    config = WorkerConfig(manager_url=fake_manager.url, data_dir=tmp_path)
    assert client.credentials is not None
    save_credentials(config.credentials_path, client.credentials)
    buffer = await _open(client, config.queue_db_path)
    await fake_manager.stop()
    await buffer.send("t1", {"activity": "queued"})
    await buffer.close()

    assert await flush_and_exit(config, timeout_s=1) == 1  # Manager still down
    await fake_manager.start()
    assert await flush_and_exit(config, timeout_s=5) == 0
    assert fake_manager.updates == [("t1", {"activity": "queued"})]
    assert await flush_and_exit(config) == 0  # nothing left
    await client.close()


async def _until(predicate, interval: float = 0.02) -> None:  # type: ignore[no-untyped-def]
    while not predicate():
        await asyncio.sleep(interval)


async def test_updates_wait_for_credentials_instead_of_being_dropped(
    fake_manager: FakeManager, tmp_path: Path
) -> None:
    client = await _registered_client(fake_manager)
    _assign(fake_manager, client, "t1")
    creds, client.credentials = client.credentials, None  # e.g. flushing before sign-on finished
    buffer = await _open(client, tmp_path / "q.sqlite")
    assert await buffer.send("t1", {"activity": "early"}) is SendResult.QUEUED
    assert not await buffer.flush(0.3)
    client.credentials = creds
    assert await buffer.flush(5)
    assert fake_manager.updates == [("t1", {"activity": "early"})]
    await buffer.close()
    await client.close()
