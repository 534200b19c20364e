"""Which events deserve a desktop notification, and that every kind is off until switched on."""

from __future__ import annotations

from app.ui.notifications import KINDS, Notifier, message_for


def test_messages_for_finished_jobs_and_lost_workers():
    assert message_for(("job", {"name": "a", "status": "completed", "previous_status": "active"}))[0] == "job_completed"
    assert message_for(("job", {"name": "a", "status": "failed", "previous_status": "active"}))[0] == "job_failed"
    assert message_for(("job", {"name": "a", "status": "active", "previous_status": "queued"})) is None
    assert message_for(("job", {"name": "a", "status": "completed"})) is None  # no change seen
    lost = message_for(("worker", {"name": "w", "status": "offline", "previous_status": "awake"}))
    assert lost[0] == "worker_lost" and "was awake" in lost[1]
    assert message_for(("worker", {"name": "w", "status": "awake", "previous_status": "asleep"})) is None


def test_every_kind_is_off_by_default_and_a_chosen_kind_is_shown(qloop):
    notifier = Notifier()
    shown = []
    notifier.shown.connect(lambda kind, text: shown.append(kind))
    assert not any(notifier.enabled(k) for k in KINDS)
    done = {"name": "a", "status": "completed", "previous_status": "active"}
    notifier.jobs_changed([done])
    assert shown == []
    notifier.set_enabled("job_completed", True)
    notifier.jobs_changed([done, {"name": "b", "status": "failed", "previous_status": "active"}])
    assert shown == ["job_completed"]
