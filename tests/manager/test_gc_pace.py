"""A Manager spaces out young garbage collections (thousands of long-polls made them a tenth of its CPU)
and full ones (each stopped its event loop for 0.6 s with 10,000 workers waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

import pytest

from app.manager.runtime.gc_pace import (
    OLD_THRESHOLD,
    YOUNG_EVERY_S,
    YOUNG_THRESHOLD,
    pace_collector,
    pace_young_collections,
)


@pytest.fixture
def thresholds():
    saved = gc.get_threshold()
    yield
    gc.set_threshold(*saved)


def test_young_and_old_thresholds_raised_and_the_middle_kept(thresholds):
    gc.set_threshold(700, 10, 10)
    pace_collector()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, OLD_THRESHOLD)


def test_a_higher_threshold_set_by_the_host_program_stays(thresholds):
    gc.set_threshold(50_000, 5, 5000)
    pace_collector()
    assert gc.get_threshold() == (50_000, 5, 5000)


def test_a_disabled_threshold_stays_disabled(thresholds):
    gc.set_threshold(0, 10, 10)  # 0 turns automatic collection off: the program's choice
    pace_collector()
    assert gc.get_threshold() == (0, 10, 10)


async def test_manager_start_paces_the_collector(thresholds, manager_factory):
    gc.set_threshold(700, 10, 10)
    manager = await manager_factory()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, OLD_THRESHOLD)
    assert any(t.get_name() == "gc-pace" for t in asyncio.all_tasks())
    status, body = await manager.request("GET", "/api/v3/version")  # and it serves as before
    assert status == 200 and body["name"]


class _Node:
    pass


def _young_cycle() -> weakref.ref:
    node = _Node()
    node.me = node  # only the cyclic collector frees it
    return weakref.ref(node)


@pytest.fixture
def collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


async def _pacing(seconds: float) -> None:
    pacer = asyncio.create_task(pace_young_collections())
    await asyncio.sleep(seconds)
    pacer.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await pacer


async def test_young_garbage_is_collected_on_a_timer_when_the_count_says_nothing(thresholds, collector_on):
    gc.set_threshold(10**9, 10, OLD_THRESHOLD)  # the allocation count alone would never start one
    gc.collect()
    freed = _young_cycle()
    await _pacing(5 * YOUNG_EVERY_S)
    assert freed() is None


async def test_the_timer_collects_nothing_while_the_host_program_turned_collection_off(thresholds, collector_on):
    gc.collect()
    gc.disable()  # as the desktop shell does: it collects on its GUI thread only
    kept = _young_cycle()
    await _pacing(5 * YOUNG_EVERY_S)
    assert kept() is not None
    gc.collect()
    assert kept() is None
