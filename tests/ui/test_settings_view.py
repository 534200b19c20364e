"""The settings page in words: durations as a number and a unit, a line of explanation per setting,
numbers in narrow fields; against a real Manager process, whose file keeps Go's spelling."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QLabel, QSpinBox

from app.ui.launch import open_dashboard
from app.ui.widgets.duration_edit import DurationEdit
from tests.ui.conftest import wait_for


@pytest.mark.slow  # over 2 s
def test_durations_are_a_value_and_a_unit_and_every_setting_says_what_it_does(qloop, manager_proc):
    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        window.resize(1400, 900)
        view = window.settings_view
        try:
            window.tabs.setCurrentWidget(view)
            await wait_for(lambda: bool(view.raw), message="settings loaded")
            assert view.raw["task_timeout"] == "10m0s" and view.raw["worker_timeout"] == "1m0s"
            shown = {name: (edit.value.value(), edit.unit.currentText())
                     for name, edit in (("task", view.task_timeout), ("worker", view.worker_timeout))}
            assert shown == {"task": (10, "minutes"), "worker": (1, "minutes")}
            units = view.task_timeout.unit
            assert [units.itemText(i) for i in range(units.count())] == ["seconds", "minutes", "hours"]
            assert "m0s" not in " ".join(w.text() for w in view.findChildren(QLabel)), "no Go text shown"

            # One line under each field says what it does; the timeouts say what they do, not only their name.
            notes = [w.text() for w in view.findChildren(QLabel, "settingExplained")]
            assert len(notes) == 11 and all(n.endswith(".") for n in notes), notes
            assert any("goes to another worker" in n for n in notes)

            # Numbers sit in narrow fields, not across the window.
            for spin in view.findChildren(QSpinBox):
                assert spin.width() < 200, (spin.objectName(), spin.width())

            view.task_timeout.unit.setCurrentText("hours")   # 10 minutes → 10 hours: the number stays
            view.worker_timeout.value.setValue(90)
            view.worker_timeout.unit.setCurrentText("seconds")
            view.save()
            await wait_for(lambda: view.status.text().startswith("Saved"), message="saved")
            raw = manager_proc.send("GET", "/api/v3/configuration/file", admin=True)
            assert raw["task_timeout"] == "10h0m0s" and raw["worker_timeout"] == "1m30s"
            view.storage_result.clear()
            view.load()
            await wait_for(lambda: view.worker_timeout.unit.currentText() == "seconds", message="reloaded")
            assert view.worker_timeout.value.value() == 90 and view.task_timeout.unit.currentText() == "hours"
            await wait_for(lambda: "writable" in view.storage_result.text(), message="storage checked")
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())


def test_the_duration_field_holds_seconds_in_the_largest_whole_unit(qtbot):
    edit = DurationEdit(5400)
    qtbot.addWidget(edit)
    assert (edit.value.value(), edit.unit.currentText(), edit.seconds()) == (90, "minutes", 5400.0)
    seen = []
    edit.changed.connect(seen.append)
    edit.set_seconds(3600)
    assert seen == [] and (edit.value.value(), edit.unit.currentText()) == (1, "hours"), "shown, not an edit"
    edit.value.setValue(2)
    assert seen == [7200.0]
