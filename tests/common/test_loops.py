"""`run_periodic`: rounds on a timer, rounds on a poke, and a failing round that does not stop it."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from app.common.clock import FakeClock
from app.common.loops import Poke, Wakeup, run_periodic

_poke: Poke = Wakeup()  # type-check-only: the ready-made poke fits the protocol


async def _until(condition, limit: float = 10.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0)


async def test_first_round_at_once_then_every_interval_on_the_given_sleep() -> None:
    clock, rounds = FakeClock(), []

    async def fn() -> None:
        rounds.append(clock.now())

    loop = asyncio.create_task(run_periodic("ticker", 30.0, fn, sleep=clock.sleep))
    await _until(lambda: len(rounds) >= 3)
    loop.cancel()
    with pytest.raises(asyncio.CancelledError):
        await loop
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(rounds)][:2] == [30.0, 30.0]


async def test_first_delay_and_an_interval_read_every_round() -> None:
    clock, rounds, pace = FakeClock(), [], {"s": 5.0}
    start = clock.now()

    async def fn() -> None:
        rounds.append((clock.now() - start).total_seconds())
        pace["s"] = 1.0

    loop = asyncio.create_task(run_periodic("ticker", lambda: pace["s"], fn, first_delay=7.0,
                                            sleep=clock.sleep))
    await _until(lambda: len(rounds) >= 2)
    loop.cancel()
    assert rounds[:2] == [7.0, 8.0]


async def test_a_poke_runs_a_round_before_the_interval_ends() -> None:
    poke, rounds = Wakeup(), []

    async def fn() -> None:
        rounds.append(1)

    loop = asyncio.create_task(run_periodic("poked", 3600.0, fn, poke))
    await _until(lambda: len(rounds) == 1)
    poke.fire()
    await _until(lambda: len(rounds) == 2)
    loop.cancel()


async def test_a_poke_during_a_round_is_not_lost() -> None:
    poke, rounds = Wakeup(), []

    async def fn() -> None:
        rounds.append(1)
        if len(rounds) == 1:
            poke.fire()  # something changed while this round ran: one more round must follow

    loop = asyncio.create_task(run_periodic("poked", 3600.0, fn, poke))
    await _until(lambda: len(rounds) == 2)
    loop.cancel()


async def test_a_failing_round_is_logged_and_the_loop_goes_on(caplog) -> None:
    clock, rounds = FakeClock(), []

    async def fn() -> None:
        rounds.append(1)
        if len(rounds) == 1:
            raise OSError("disk gone for a moment")

    with caplog.at_level(logging.ERROR, logger="app.common.loops"):
        loop = asyncio.create_task(run_periodic("sweep", 10.0, fn, sleep=clock.sleep))
        await _until(lambda: len(rounds) >= 2)
        loop.cancel()
    assert "sweep failed" in caplog.text and "disk gone for a moment" in caplog.text
