"""The numbers and words a lead plans with: frames, elapsed, the ETA and its range, the submitter,
the output folder spelled for this computer, and which action applies to which job or worker."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.api.workers import WorkerStatusChangeRequest
from app.ui.applies import job_action_applies, worker_action_applies
from app.ui.job_output import local_output_folder, local_settings
from app.ui.job_pace import PaceBook, pace_of_finishes, task_facts
from app.ui.models.formats import duration, eta_words, frames_text, held_clock, submitter
from tests.ui.typed_rows import job as make_job
from tests.ui.typed_rows import job_row, worker_row

T0 = datetime(2026, 12, 5, 14, 0, tzinfo=UTC)


def _at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def test_frames_count_the_frames_setting_and_fall_back_to_steps():
    render = make_job(settings={"frames": "1-40, 50"}, steps_total=42, steps_completed=12)
    assert frames_text(render) == "12 / 41"   # 41 frames; the preview video's step is not a frame
    assert frames_text(make_job(settings={}, steps_total=3, steps_completed=1)) == "1 / 3 steps"
    not_frames = make_job(settings={"frames": "oops"}, steps_total=3, steps_completed=3)
    assert frames_text(not_frames) == "3 / 3 steps"


def test_submitter_is_user_at_host_or_what_there_is():
    assert submitter(make_job(metadata={"user.name": "alice", "user.host": "studio-pc"})) == "alice@studio-pc"
    assert submitter(make_job(metadata={"user.name": "alice"})) == "alice"
    assert submitter(make_job(metadata={})) == ""


def test_a_jobs_own_finishes_give_its_pace_and_a_range_that_narrows_with_more_finishes():
    assert pace_of_finishes([(0.0, 10)]) is None   # one finish measures no time
    steady = pace_of_finishes([(i * 60.0, 10) for i in range(4)])   # 10 frames a minute
    assert abs(steady.per_s - 10 / 60) < 1e-9 and steady.basis == 4
    assert steady.slow < steady.per_s < steady.fast
    many = pace_of_finishes([(i * 60.0, 10) for i in range(40)])
    assert (many.fast - many.slow) < (steady.fast - steady.slow)


def test_the_eta_says_done_paused_or_a_time_with_its_range():
    book = PaceBook()
    job = make_job(id="j", type="render", status="active", steps_total=100, steps_completed=20,
                   created=_at(0), updated=_at(300))
    assert eta_words(job, book.pace("m/j", job))[0] == "—"   # nothing finished, no history
    for n in range(3):
        book.task_changed("m/j", task_facts({"id": f"t{n}", "status": "completed", "updated": _at(60 * (n + 1)),
                                             "steps_total": 10}))
    text, why = eta_words(job, book.pace("m/j", job))
    assert text.startswith("8 min (") and "3 finished tasks of this job" in why   # 80 frames at 10/min
    assert eta_words(replace(job, status="paused"), None)[0] == "paused"
    assert eta_words(replace(job, status="completed"), None)[0] == "done"


def test_a_task_requeued_leaves_the_pace_and_an_older_answer_never_brings_it_back():
    book = PaceBook()
    done = task_facts({"id": "t", "status": "completed", "updated": _at(60), "steps_total": 5})
    book.task_changed("m/j", done)
    book.task_changed("m/j", done._replace(id="u", updated=_at(120)))
    assert book.finished_count("m/j") == 2
    assert book.task_changed("m/j", done._replace(status="queued", updated=_at(130)))
    book.tasks_loaded("m/j", [done])   # a list read before the requeue arrives late
    assert book.finished_count("m/j") == 1


def test_without_finishes_the_farms_history_of_the_job_type_serves():
    book = PaceBook()
    for n in range(3):   # three completed renders of 60 frames, each in 10 minutes
        book.job_changed(f"m/old{n}", make_job(type="render", status="completed", steps_total=60,
                                               created=_at(n * 1000), updated=_at(n * 1000 + 600)))
    job = make_job(id="new", type="render", status="queued", steps_total=60, steps_completed=0)
    text, why = eta_words(job, book.pace("m/new", job))
    assert text.startswith("10 min") and "last 3 completed jobs of this type" in why
    assert book.pace("m/x", replace(job, type="echo")) is None


def test_durations_read_like_the_status_page():
    assert [duration(s) for s in (45, 245, 720, 3900, 2 * 86400 + 3 * 3600)] == \
        ["45 s", "4 min 05 s", "12 min", "1 h 05 min", "2 d 3 h"]


def test_elapsed_stops_when_the_job_finished():
    from app.ui.models.formats import elapsed_text

    job = make_job(created=_at(0), updated=_at(90), status="active")
    with held_clock(T0 + timedelta(seconds=600)):
        assert elapsed_text(job) == "10 min"
        assert elapsed_text(replace(job, status="completed")) == "1 min 30 s"


def test_the_output_folder_is_spelled_for_this_computer_through_two_way_variables():
    variables = {"render": {"value": "R:\\projects", "is_twoway": True},
                 "blender": {"value": "C:\\Blender\\blender.exe", "is_twoway": False}}
    settings = {"render_output_path": "{render}/shot_010/2026-12-05_14-00/######"}
    assert local_output_folder(settings, variables, "windows") == "R:\\projects\\shot_010\\2026-12-05_14-00"
    linux = {"render": {"value": "/mnt/render", "is_twoway": True}}
    assert local_output_folder(settings, linux, "linux") == "/mnt/render/shot_010/2026-12-05_14-00"
    assert local_output_folder({"message": "hi"}, linux, "linux") == ""
    assert local_settings({"blendfile": "{render}/a.blend", "frames": "1-3"}, linux, "linux") == \
        {"blendfile": "/mnt/render/a.blend", "frames": "1-3"}


def test_job_actions_apply_where_the_manager_takes_them():
    def offered(status: str, **extra) -> set[str]:
        keys = ("pause", "resume", "cancel", "requeue", "requeue_failed", "delete", "resubmit")
        return {k for k in keys if job_action_applies(k, job_row(status=status, **extra))}

    assert offered("completed") == {"requeue", "delete", "resubmit"}   # no pause, no cancel
    assert offered("active") == {"pause", "cancel", "requeue_failed", "delete", "resubmit"}
    assert offered("paused") == {"resume", "cancel", "requeue", "requeue_failed", "delete", "resubmit"}
    assert offered("active", delete_requested_at=_at(0)) == {"resubmit"}


def test_worker_requests_apply_where_they_change_something():
    awake = worker_row(status="awake", can_restart=False)
    assert not worker_action_applies("wake", awake)
    assert worker_action_applies("sleep_now", awake)
    assert not worker_action_applies("restart_now", awake)   # it cannot restart itself
    going = worker_row(status="awake", status_change=WorkerStatusChangeRequest(status="asleep", is_lazy=True))
    assert worker_action_applies("wake", going)
    assert not worker_action_applies("shutdown_now", worker_row(status="offline"))
