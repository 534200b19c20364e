"""A Manager spaces out young garbage collections (thousands of long-polls made them a tenth of its CPU)
and full ones (each stopped its event loop for 0.6 s with 10,000 workers waiting)."""

from __future__ import annotations

import gc

import pytest

from app.manager.runtime.gc_pace import OLD_THRESHOLD, YOUNG_THRESHOLD, pace_collector


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
    gc.set_threshold(50_000, 5, 500)
    pace_collector()
    assert gc.get_threshold() == (50_000, 5, 500)


def test_a_disabled_threshold_stays_disabled(thresholds):
    gc.set_threshold(0, 10, 10)  # 0 turns automatic collection off: the program's choice
    pace_collector()
    assert gc.get_threshold() == (0, 10, 10)


async def test_manager_start_paces_the_collector(thresholds, manager_factory):
    gc.set_threshold(700, 10, 10)
    manager = await manager_factory()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, OLD_THRESHOLD)
    status, body = await manager.request("GET", "/api/v3/version")  # and it serves as before
    assert status == 200 and body["name"]
