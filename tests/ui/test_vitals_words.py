"""The worker list's vitals words: figures as a lead reads them, and a dash (never 0) where there are none."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.api.workers import WorkerVitals
from app.ui.models import vitals_words as vw
from tests.ui.typed_rows import worker_row

AT = datetime(2026, 12, 5, 12, 0, 0, tzinfo=UTC)
GIB = 1024 ** 3
VITALS = WorkerVitals.from_json({"updated": "2026-12-05T11:59:58Z", "cpu_percent": 37.4, "cpu_count": 16, "render_cpu_percent": 30.2,
          "memory_used": int(9.2 * GIB), "memory_total": 32 * GIB, "render_memory": int(4.5 * GIB),
          "gpus": [{"name": "NVIDIA RTX A4000", "percent": 97.0, "memory_used": 3 * GIB,
                    "memory_total": 16 * GIB}, {"name": "Intel UHD 630"}],
          "blender_version": "4.2.1", "frame": 12, "sample": 340, "samples_total": 1500})


def test_each_figure_reads_as_a_lead_expects():
    assert vw.cpu_text(VITALS) == "37% of 16"
    assert vw.cpu_tip(VITALS) == "the machine uses 37% of 16 logical CPUs; the worker and its renders 30%"
    assert vw.memory_text(VITALS) == "9.2 / 32 GiB"
    assert vw.memory_tip(VITALS) == "the machine uses 9.2 GiB of 32 GiB; the worker and its renders 4.5 GiB"
    assert vw.gpu_text(VITALS) == "NVIDIA RTX A4000 · 97% +1"
    assert vw.gpu_tip(VITALS) == ("NVIDIA RTX A4000: 97% busy, 3 / 16 GiB\n"
                                  "Intel UHD 630 (its use cannot be read)")
    assert vw.blender_text(VITALS) == "4.2.1"
    assert vw.frame_text(VITALS) == "frame 12 · 340/1500 samples"


def test_gib_drops_a_zero_decimal_and_decimals_from_100_gib_on():
    assert [vw.gib(b) for b in (0, GIB // 2, 32 * GIB, int(31.96 * GIB), int(127.6 * GIB))] == [
        "0", "0.5", "32", "32", "128"]


def test_a_figure_the_worker_could_not_read_is_a_dash_not_zero():
    bare = WorkerVitals(updated="2026-12-05T11:59:58Z")
    assert [vw.cpu_text(bare), vw.memory_text(bare), vw.gpu_text(bare), vw.blender_text(bare)] == ["—"] * 4
    assert vw.frame_text(bare) == ""  # not rendering: no frame
    assert vw.cpu_text(replace(bare, cpu_percent=0.0)) == "0%"  # a real 0 stays 0 (no CPU count: just the share)
    assert "no GPU it can read" in vw.gpu_tip(bare)
    assert vw.frame_text(replace(VITALS, sample=None, samples_total=None)) == "frame 12"
    assert vw.frame_text(replace(VITALS, frame=0)) == "frame 0 · 340/1500 samples"
    assert vw.memory_text(replace(bare, memory_used=GIB)) == "—"  # half a pair says nothing


def test_vitals_are_current_only_for_a_worker_that_is_not_offline_and_reported_lately():
    row = worker_row(status="awake", vitals=VITALS)
    assert vw.current(row, AT) is VITALS
    assert vw.current(worker_row(status="error", vitals=VITALS), AT) is VITALS  # the Manager still serves them
    assert vw.current(worker_row(status="offline", vitals=VITALS), AT) is None
    assert "offline" in vw.why_none(worker_row(status="offline", vitals=VITALS), AT)
    assert vw.current(row, AT + timedelta(seconds=vw.STALE_AFTER_S - 3)) is VITALS
    assert vw.current(row, AT + timedelta(seconds=vw.STALE_AFTER_S)) is None
    assert "too old" in vw.why_none(row, AT + timedelta(seconds=vw.STALE_AFTER_S))
    assert vw.current(worker_row(status="awake"), AT) is None
    assert "sends no vitals" in vw.why_none(worker_row(status="awake", vitals=None), AT)


def test_sorting_puts_workers_without_a_figure_together():
    assert vw.sort_number(None) == -1.0 and vw.sort_number(37.4) == 37.4 and vw.sort_number(True) == -1.0
