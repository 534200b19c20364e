"""The away rule (pure), the 'cannot be read here' reasons, and the real X idle time under Xvfb."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from app.common.idle import SLEEP_LAZY, SLEEP_NOW, WAKE, AwayRule, X11IdleSource, why_unreadable
from tests.xvfb import private_display


def test_the_rule_acts_only_when_the_artist_leaves_or_comes_back():
    rule = AwayRule(away_after_s=600, on_return="requeue")
    assert rule.step(2) == SLEEP_LAZY           # switched on at the desk: asleep after the running task
    assert [rule.step(t) for t in (30, 300, 599)] == [None, None, None]
    assert rule.step(600) == WAKE               # ten minutes without input: render
    assert rule.step(1200) is None
    assert rule.step(1) == SLEEP_NOW            # back, and they chose to give the task back at once
    assert rule.step(1) is None
    assert rule.step(None) is None              # unreadable: no change


def test_coming_back_with_finish_lets_the_task_end():
    rule = AwayRule(away_after_s=60, on_return="finish", away=True)
    assert rule.step(0.5) == SLEEP_LAZY


def test_the_ui_is_told_why_the_idle_time_cannot_be_read():
    assert "Wayland" in why_unreadable({"XDG_SESSION_TYPE": "wayland", "WAYLAND_DISPLAY": "wayland-0"})
    assert "no X display" in why_unreadable({})


@pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool")
def test_the_x_idle_time_is_read_and_resets_when_the_pointer_moves():
    with private_display("640x480x24") as display:
        source = X11IdleSource(display)
        try:
            time.sleep(1.2)
            before = source.idle_seconds()
            assert before is not None and before >= 1.0
            subprocess.run(["xdotool", "mousemove", "100", "120"], env=dict(os.environ, DISPLAY=display),
                           check=True)
            after = source.idle_seconds()
            assert after is not None and after < before
        finally:
            source.close()
