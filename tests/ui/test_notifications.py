"""Which events deserve a desktop notification; finished and failed jobs are said until switched off."""

from __future__ import annotations

import pytest

from app.ui.notifications import Notifier, message_for
from tests.ui.typed_rows import job_delta, job_update, worker_update


def test_messages_for_finished_jobs_and_lost_workers():
    def job(**fields):
        return job_update(name="a", **fields)

    assert message_for(job(status="completed", previous_status="active"))[0] == "job_completed"
    assert message_for(job(status="failed", previous_status="active"))[0] == "job_failed"
    assert message_for(job(status="active", previous_status="queued")) is None
    assert message_for(job(status="completed")) is None  # no change seen
    lost = message_for(worker_update(name="w", status="offline", previous_status="awake"))
    assert lost[0] == "worker_lost" and "was awake" in lost[1]
    assert message_for(worker_update(name="w", status="awake", previous_status="asleep")) is None


@pytest.mark.slow  # over 2 s
def test_finished_and_failed_jobs_are_said_by_default_and_a_kind_can_be_switched_off(qloop):
    notifier = Notifier()
    shown = []
    notifier.shown.connect(lambda kind, text: shown.append(kind))
    assert notifier.enabled("job_completed") and notifier.enabled("job_failed")
    assert not notifier.enabled("worker_lost"), "a lost worker is said only when asked for"
    done = job_delta(name="a", status="completed", previous_status="active")
    failed = job_delta(name="b", status="failed", previous_status="active")
    lost = worker_update(name="w", status="offline", previous_status="awake")
    notifier.jobs_changed([done, failed])
    notifier.workers_changed([lost])
    assert shown == ["job_completed", "job_failed"]
    menu = notifier.menu(None)
    assert [a.isChecked() for a in menu.actions()] == [True, True, False, True], "the menu shows the same"
    notifier.actions["job_completed"].setChecked(False)
    notifier.actions["worker_lost"].setChecked(True)
    shown.clear()
    notifier.jobs_changed([done])
    notifier.workers_changed([lost])
    assert shown == ["worker_lost"]
    assert not Notifier().enabled("job_completed"), "the choice is remembered"


def test_a_failed_preview_is_said_once_per_failure(qtbot):
    notifier = Notifier()
    shown = []
    notifier.shown.connect(lambda kind, text: shown.append(text))
    fields = {"id": "j1", "name": "shot", "status": "active",
              "activity": "Preview task render-50 failed; check the frame"}
    failed = job_delta(**fields)
    assert message_for(failed.update) == (
        "preview_failed", "Job 'shot': Preview task render-50 failed; check the frame.")
    notifier.jobs_changed([failed, job_delta(**fields, steps_completed=3)])  # its later events carry the same words
    notifier.jobs_changed([job_delta(**{**fields, "activity": "Preview task render-100 failed; the job is paused"})])
    assert shown == ["Job 'shot': Preview task render-50 failed; check the frame.",
                     "Job 'shot': Preview task render-100 failed; the job is paused."]
