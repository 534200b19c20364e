"""The settings page's scheduler row: strict priority or fair share, saved to a real Manager's file."""

from __future__ import annotations

import pytest

from app.ui.launch import open_dashboard
from app.ui.widgets.scheduler_policy_edit import SchedulerPolicyEdit
from tests.ui.conftest import wait_for


def test_weights_are_typed_as_name_equals_number_and_checked(qtbot):
    edit = SchedulerPolicyEdit()
    qtbot.addWidget(edit)
    edit.set_from({"scheduler_policy": "fair-share", "fair_share_weights": {"alice": 2, "bob": 0.5}})
    assert edit.weights.text() == "alice=2, bob=0.5" and edit.weights.isEnabled()
    assert edit.values() == {"scheduler_policy": "fair-share", "fair_share_by": "user.name",
                             "fair_share_weights": {"alice": 2.0, "bob": 0.5}}
    for typed, words in [("alice", "name=number"), ("alice=lots", "must be a number"),
                         ("alice=0", "above 0"), ("=2", "name=number")]:
        edit.weights.setText(typed)
        assert words in " ".join(edit.problems()), typed
    edit.set_from({})
    assert edit.policy.currentData() == "priority" and not edit.weights.isEnabled()


@pytest.mark.slow  # a Manager process and the desktop window
def test_fair_share_is_chosen_on_the_settings_page_and_saved(qloop, manager_proc):
    async def body():
        dashboard, window = await open_dashboard([manager_proc.url], admin_tokens=manager_proc.admin_tokens)
        view = window.settings_view
        try:
            window.tabs.setCurrentWidget(view)
            await wait_for(lambda: bool(view.raw), message="settings loaded")
            assert view.policy.policy.currentData() == "priority"
            view.policy.policy.setCurrentIndex(view.policy.policy.findData("fair-share"))
            view.policy.weights.setText("alice=2")
            view.save()
            await wait_for(lambda: view.status.text().startswith("Saved"), message="saved")
            raw = manager_proc.send("GET", "/api/v3/configuration/file", admin=True)
            assert raw["scheduler_policy"] == "fair-share" and raw["fair_share_weights"] == {"alice": 2}
            share = manager_proc.send("GET", "/api/v3/tablao/fair-share", admin=True)
            assert share["policy"] == "fair-share"  # applied at once, no restart
        finally:
            window.close()
            await dashboard.close()

    qloop.run_until_complete(body())
