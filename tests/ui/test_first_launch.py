"""First launch end to end, each scenario in a fresh interpreter.

The scenarios (tests/ui/first_launch_scenarios.py) run a whole farm inside the Qt loop: the local
Manager, the local worker, Blender, the wizard. They run in a process of their own so that nothing
left by earlier UI tests in this process (windows, timers, executor threads) can touch them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # the wizard checks Debian's Blender; a real render

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = Path(__file__).with_name("first_launch_scenarios.py")


def _run(name: str, tmp_path: Path) -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp",
                             str(tmp_path / "t"), f"{SCENARIOS}::{name}"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert "1 passed" in result.stdout


def test_the_wizard_sets_up_a_farm_in_both_mode_and_shows_a_rendered_frame(tmp_path):
    _run("test_the_wizard_sets_up_a_farm_in_both_mode_and_shows_a_rendered_frame", tmp_path)


def test_a_worker_finds_its_manager_on_the_network_from_the_wizard(tmp_path):
    _run("test_a_worker_finds_its_manager_on_the_network_from_the_wizard", tmp_path)


def test_nothing_listens_before_the_wizard_is_done_and_a_busy_port_is_a_question(tmp_path):
    _run("test_nothing_listens_before_the_wizard_is_done_and_a_busy_port_is_a_question", tmp_path)
