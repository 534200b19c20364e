"""The installed Qt binding keeps Python's reference counts: a long-running dashboard depends on it.

PySide6 6.12.0 on Python 3.11 drops a reference to None on every call of a Qt method that returns
nothing (`setEnabled`, `setText`, `update`, ...); the desktop app makes such calls all day, and once
None's count reaches zero the interpreter aborts ("deallocating None"). A 1,000-step walk of
tests/ui/test_dashboard_truth.py ended that way. pyproject.toml keeps that binding out where it
matters; this test says so when an environment has it anyway.
"""

from __future__ import annotations

import sys

import pytest


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="None is immortal from Python 3.12 on")
def test_qt_calls_that_return_nothing_leave_nones_reference_count_alone(qapp):
    from PySide6 import __version__
    from PySide6.QtGui import QAction
    from PySide6.QtWidgets import QLabel

    action, label = QAction("x"), QLabel()
    before = sys.getrefcount(None)
    for n in range(200):
        action.setEnabled(n % 2 == 0)
        label.setText(str(n))
    lost = before - sys.getrefcount(None)
    assert lost < 50, (f"PySide6 {__version__} lost {lost} references to None in 400 calls: a dashboard left "
                       "open would crash; install a PySide6 that pyproject.toml allows")
