"""One word per state: the table covers every wire status, and the views say what the table says."""

from __future__ import annotations

import datetime as dt

from app.api.enums import FarmStatus, WorkerStatus
from app.ui import state_words as words
from app.ui import tray_state as ts


def test_every_wire_status_has_one_word_and_no_word_names_two_states():
    for enum, table in ((WorkerStatus, words.WORKER_WORDS), (FarmStatus, words.FARM_WORDS)):
        assert set(table) == {s.value for s in enum}, enum
        assert len(set(table.values())) == len(table), f"two {enum.__name__}es share a word"
    assert words.worker_word("restart") == "restarting"
    assert words.worker_word("awake", rendering=True) == "rendering"
    assert words.worker_word("asleep", rendering=True) == "asleep", "only an awake worker renders"
    assert words.worker_change_word("awake", "asleep") == "awake → asleep"
    assert words.worker_change_word("awake", None) == "awake"
    assert words.worker_word("something-new") == "something-new", "an unknown status is shown as sent"


def test_the_tray_kinds_use_the_table_words():
    assert set(ts.KIND_WORDS) == set(ts.STATES)
    assert set(ts.KIND_WORDS.values()) <= set(words.WORKER_WORDS.values()) | {words.RENDERING}
    assert ts.KIND_WORDS[ts.ASLEEP] == ts.KIND_WORDS[ts.PAUSED] == "asleep"


def test_the_managers_tray_and_the_worker_window_header_say_the_same_words(qloop):
    from app.ui.manager_tray import ManagerTray

    tray = ManagerTray("http://render:8080/")
    tray.show_farm("inoperative")
    assert tray.icon.toolTip() == "Tablao Manager at http://render:8080/: farm no workers"
    now = dt.datetime(2026, 11, 27, 14, 30)
    state = ts.derive(connected=True, status="asleep", now=now, snoozed_until=now + dt.timedelta(hours=1))
    assert (words.headline(state.word), state.detail) == ("Asleep", "until 15:30 (as you asked)")
