"""cancel_and_wait: stops tasks, and never swallows a cancellation of the caller."""

from __future__ import annotations

import asyncio

import pytest

from app.worker.aiotools import cancel_and_wait


async def _slow_to_stop() -> None:
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(0.3)  # cleanup, like killing a process tree
        raise


async def test_waits_for_tasks_to_finish_their_cleanup() -> None:
    task = asyncio.create_task(_slow_to_stop())
    await asyncio.sleep(0)
    await cancel_and_wait(task)
    assert task.cancelled()


async def test_a_cancellation_of_the_caller_still_propagates() -> None:
    inner = asyncio.create_task(_slow_to_stop())
    await asyncio.sleep(0)
    outer = asyncio.create_task(cancel_and_wait(inner))
    await asyncio.sleep(0.05)
    outer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await outer
    await asyncio.sleep(0.4)
    assert inner.cancelled()


async def test_exceptions_of_cancelled_tasks_are_retrieved() -> None:
    async def fails_on_cancel() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("cleanup failed") from None

    task = asyncio.create_task(fails_on_cancel())
    await asyncio.sleep(0)
    await cancel_and_wait(task)  # no exception escapes, no "never retrieved" warning
    assert isinstance(task.exception(), RuntimeError)
