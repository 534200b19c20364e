"""The write-behind batch on its own (unit tests, a recording writer): a window's notes go in one
write, shutdown writes what is left, and a failed write loses nothing of that batch or the next.

The real store's side is tested through its two users: tests/manager/test_idle_repolls.py (last
seen) and tests/manager/test_worker_day.py (finished task runs).
"""

from __future__ import annotations

import asyncio
import logging

import pytest

from app.manager.runtime.write_behind import WriteBehind


class Writer:
    """Records each batch written; fails the next `fail` writes."""

    def __init__(self) -> None:
        self.written: list[dict[str, int]] = []
        self.fail = 0

    async def __call__(self, batch: dict[str, int]) -> None:
        await asyncio.sleep(0)
        if self.fail:
            self.fail -= 1
            raise OSError("the disk is full")
        self.written.append(dict(batch))


def keep_older(pending: dict[str, int], unwritten: dict[str, int]) -> None:
    for key, value in unwritten.items():
        pending.setdefault(key, value)


def batcher(writer: Writer, every_s: float = 0.05) -> WriteBehind[dict[str, int]]:
    return WriteBehind("test values", writer, dict, keep_older, every_s)


def note(batch: WriteBehind[dict[str, int]], key: str, value: int) -> None:
    batch.pending[key] = value
    batch.soon()


async def wait_for(predicate, timeout_s: float = 5.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not predicate():
            await asyncio.sleep(0.01)


async def test_notes_within_one_window_are_one_write_and_a_key_keeps_its_newest():
    writer = Writer()
    batch = batcher(writer)
    note(batch, "a", 1)
    note(batch, "b", 2)
    note(batch, "a", 3)
    assert writer.written == []  # nothing before the window ends
    await wait_for(lambda: writer.written)
    await asyncio.sleep(0.1)
    assert writer.written == [{"a": 3, "b": 2}] and batch.flushes == 1
    note(batch, "c", 4)  # a later note starts a new window
    await wait_for(lambda: len(writer.written) == 2)
    assert writer.written[1] == {"c": 4}
    await batch.close()


async def test_close_writes_what_is_pending_without_waiting_for_the_timer():
    writer = Writer()
    batch = batcher(writer, every_s=3600)
    note(batch, "a", 1)
    await batch.close()
    assert writer.written == [{"a": 1}] and not batch.pending
    await batch.close()  # nothing left: no empty write
    assert writer.written == [{"a": 1}]


async def test_a_failed_write_loses_nothing_and_the_next_batch_carries_it(caplog: pytest.LogCaptureFixture):
    writer = Writer()
    batch = batcher(writer)
    writer.fail = 1
    note(batch, "a", 1)
    note(batch, "b", 1)
    with caplog.at_level(logging.ERROR):
        await wait_for(lambda: writer.fail == 0)
        await asyncio.sleep(0)
    assert "writing the test values failed" in caplog.text
    assert batch.pending == {"a": 1, "b": 1}
    note(batch, "b", 2)  # newer than the unwritten one: it wins
    note(batch, "c", 1)
    await wait_for(lambda: writer.written)
    assert writer.written == [{"a": 1, "b": 2, "c": 1}] and not batch.pending
    await batch.close()


async def test_a_flush_that_fails_says_so_to_its_caller_and_keeps_the_batch():
    writer = Writer()
    batch = batcher(writer, every_s=3600)
    note(batch, "a", 1)
    writer.fail = 1
    with pytest.raises(OSError):
        await batch.flush()
    assert batch.pending == {"a": 1} and batch.flushes == 0
    assert await batch.flush() is True
    assert writer.written == [{"a": 1}]
    assert await batch.flush() is False  # nothing pending: no write
    assert await batch.flush(even_empty=True) is True and writer.written[-1] == {}
    await batch.close()


async def test_a_list_batch_keeps_its_order_when_a_write_fails():
    written: list[list[int]] = []
    fail = [True]

    async def write(batch: list[int]) -> None:
        if fail[0]:
            fail[0] = False
            raise OSError("busy")
        written.append(list(batch))

    def put_back(pending: list[int], unwritten: list[int]) -> None:
        pending[:0] = unwritten

    batch: WriteBehind[list[int]] = WriteBehind("runs", write, list, put_back, 3600)
    batch.pending.extend([1, 2])
    with pytest.raises(OSError):
        await batch.flush()
    batch.pending.append(3)
    await batch.close()
    assert written == [[1, 2, 3]]
