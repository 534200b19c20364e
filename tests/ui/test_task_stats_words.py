"""How the job detail's task table writes a task's render time and peak memory."""

from __future__ import annotations

import pytest

from app.ui.task_stats import memory_text, render_time_text


@pytest.mark.parametrize(("seconds", "text"), [
    (None, ""), (0, "0.0 s"), (12.54, "12.5 s"), (59.96, "60.0 s"), (75.5, "1m 16s"), (3599, "59m 59s"),
    (3600, "1h 00m"), (7325, "2h 02m")])
def test_render_time(seconds, text):
    assert render_time_text(seconds) == text


@pytest.mark.parametrize(("mb", "text"), [(None, ""), ("812", ""), (812.25, "812 MB"), (1023.4, "1023 MB"),
                                          (2048, "2.00 GB"), (12800, "12.50 GB")])
def test_peak_memory(mb, text):
    assert memory_text(mb) == text
