"""setup_logging collapses repeats on its own handler only, never on handlers someone else installed."""

from __future__ import annotations

import logging

from app.common.logsetup import RepeatCollapser, setup_logging


def test_setup_logging_leaves_handlers_it_did_not_make_alone():
    root = logging.getLogger()
    theirs = logging.Handler()
    root.addHandler(theirs)
    try:
        setup_logging()
        assert not any(isinstance(f, RepeatCollapser) for f in theirs.filters)
    finally:
        root.removeHandler(theirs)


def test_setup_logging_collapses_repeats_on_the_handler_it_makes(monkeypatch):
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    setup_logging()
    made = list(root.handlers)
    assert len(made) == 1 and any(isinstance(f, RepeatCollapser) for f in made[0].filters)
