"""Job transitions through `Effects` on a real SQLite file: each job status a user may request, from
each status it may be requested from, what it does to the job's tasks, and the events it emits; and
the transitional statuses a Manager re-applies after a crash (`unstick_jobs`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import blocklist
from app.manager.persistence.models import TaskFailure
from app.manager.state_machine.statuses import JOB_REQUESTABLE
from app.manager.state_machine.tasks import unstick_jobs
from tests.manager.state_machine.machine_db import MachineDb, job_moves, task_events

Q, A, C, S, F, X, P = T.QUEUED, T.ACTIVE, T.COMPLETED, T.SOFT_FAILED, T.FAILED, T.CANCELED, T.PAUSED


@dataclass(frozen=True)
class JobMove:
    before: J
    request: J
    tasks: tuple[T, ...]
    tasks_after: tuple[T, ...]
    after: J
    job_moves: tuple[tuple[str, str, bool], ...]
    reason: str  # what the log line of each task the request moved says
    why: str
    work: bool = False


MOVES = [
    JobMove(J.ACTIVE, J.CANCEL_REQUESTED, (C, A, Q, S), (C, X, X, X), J.CANCELED,
            (("active", "cancel-requested", True), ("cancel-requested", "canceled", True)),
            "job was canceled", "cancel-active"),
    JobMove(J.QUEUED, J.CANCEL_REQUESTED, (Q, Q), (X, X), J.CANCELED,
            (("queued", "cancel-requested", True), ("cancel-requested", "canceled", True)),
            "job was canceled", "cancel-queued"),
    JobMove(J.FAILED, J.CANCEL_REQUESTED, (F, X, C), (F, X, C), J.CANCELED,
            (("failed", "cancel-requested", True), ("cancel-requested", "canceled", True)),
            "job was canceled", "cancel-failed"),
    # Paused tasks stay paused in the canceled job (not runnable either way); a requeue takes them.
    JobMove(J.PAUSED, J.CANCEL_REQUESTED, (C, P), (C, P), J.CANCELED,
            (("paused", "cancel-requested", True), ("cancel-requested", "canceled", True)),
            "job was canceled", "cancel-paused"),
    JobMove(J.PAUSE_REQUESTED, J.CANCEL_REQUESTED, (A, P), (X, P), J.CANCELED,
            (("pause-requested", "cancel-requested", True), ("cancel-requested", "canceled", True)),
            "job was canceled", "cancel-pausing"),
    # Pausing waits for the running tasks; with none running the job is paused at once.
    JobMove(J.ACTIVE, J.PAUSE_REQUESTED, (A, Q, S, C), (A, P, P, C), J.PAUSE_REQUESTED,
            (("active", "pause-requested", True),), "job is pausing", "pause-active"),
    JobMove(J.QUEUED, J.PAUSE_REQUESTED, (Q, Q), (P, P), J.PAUSED,
            (("queued", "pause-requested", True), ("pause-requested", "paused", False)),
            "job is pausing", "pause-queued"),
    # Requeueing a completed job runs everything again; otherwise what did not complete.
    JobMove(J.COMPLETED, J.REQUEUEING, (C, C), (Q, Q), J.QUEUED,
            (("completed", "requeueing", True), ("requeueing", "queued", True)),
            "job was requeued", "requeue-completed", work=True),
    JobMove(J.FAILED, J.REQUEUEING, (C, F, X), (C, Q, Q), J.QUEUED,
            (("failed", "requeueing", True), ("requeueing", "queued", True)),
            "job was requeued", "requeue-failed", work=True),
    JobMove(J.CANCELED, J.REQUEUEING, (C, X, P), (C, Q, Q), J.QUEUED,
            (("canceled", "requeueing", True), ("requeueing", "queued", True)),
            "job was requeued", "requeue-canceled", work=True),
    JobMove(J.PAUSED, J.REQUEUEING, (C, P, F, X), (C, Q, Q, Q), J.QUEUED,
            (("paused", "requeueing", True), ("requeueing", "queued", True)),
            "job was requeued", "requeue-paused", work=True),
    # Resuming a paused job leaves its failed tasks failed.
    JobMove(J.PAUSED, J.QUEUED, (C, P, F), (C, Q, F), J.QUEUED,
            (("paused", "queued", True),), "job was resumed", "resume", work=True),
    JobMove(J.PAUSED, J.QUEUED, (C, C), (C, C), J.COMPLETED,
            (("paused", "queued", True), ("queued", "completed", False)), "", "resume-all-completed"),
]


@pytest.mark.parametrize("move", MOVES, ids=[m.why for m in MOVES])
def test_job_transition(db: MachineDb, move: JobMove) -> None:
    names = "abcd"[:len(move.tasks)]
    db.make_job(dict(zip(names, move.tasks, strict=True)), move.before, steps=2)

    fx = db.set_job_status(move.request)

    assert db.statuses() == dict(zip(names, (s.value for s in move.tasks_after), strict=True))
    assert db.job().status == move.after
    assert job_moves(fx) == list(move.job_moves)
    moved = [n for n, before, after in zip(names, move.tasks, move.tasks_after, strict=True) if before != after]
    # A bulk change logs its tasks in the order the store finds them.
    assert sorted(db.log(fx)) == [(n, f"task changed status {dict(zip(names, move.tasks, strict=True))[n].value} -> "
                              f"{dict(zip(names, move.tasks_after, strict=True))[n].value}: {move.reason}") for n in moved]
    # The job event says refresh_tasks: clients read the tasks again rather than get an event for each;
    # only a task a worker was running says so itself, for the dashboards that show it on that worker.
    assert sorted((e["name"], e["previous_status"], e["status"]) for e in task_events(fx)) == [
        (n, before.value, after.value) for n, before, after in zip(names, move.tasks, move.tasks_after, strict=True)
        if before == A and after != A]
    assert fx.watched_tasks == {db.uuids[n] for n in moved}  # their long-polls wake up
    assert fx.work_available is move.work
    assert db.job().steps_completed == 2 * sum(s == C for s in move.tasks_after)


def test_every_job_status_a_user_may_request_is_a_tested_transition() -> None:
    tested = {(m.before, m.request) for m in MOVES}
    requestable = {(source, target) for target, sources in JOB_REQUESTABLE.items() for source in sources}
    assert requestable <= tested, f"untested: {sorted(requestable - tested)}"


def test_pausing_job_pauses_when_its_last_running_task_ends(db: MachineDb) -> None:
    db.make_job({"a": A, "b": A, "c": Q}, J.ACTIVE)
    db.set_job_status(J.PAUSE_REQUESTED)
    assert job_moves(db.set_status("a", C)) == [(None, "pause-requested", False)]  # its progress, not status
    fx = db.set_status("b", S)  # a failure, too, ends the running
    assert job_moves(fx) == [("pause-requested", "paused", False)]
    assert db.statuses() == {"a": "completed", "b": "soft-failed", "c": "paused"}


def test_requeue_by_a_user_forgets_failures_and_blocklist(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_job({"a": F, "b": X}, J.FAILED)
    db.add_failures("a", w1)
    job_id = db.job().id
    db.store.call_sync(blocklist.add, job_id, w1.id, "misc", db.job().updated_at)

    db.set_job_status(J.REQUEUEING)

    assert db.store.call_sync(lambda: TaskFailure.select().count()) == 0
    assert db.store.call_sync(blocklist.list_for_job, job_id) == []


def test_requeue_after_a_restart_keeps_failures_and_blocklist(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_job({"a": F, "b": X}, J.FAILED)
    db.add_failures("a", w1)
    job_id = db.job().id
    db.store.call_sync(blocklist.add, job_id, w1.id, "misc", db.job().updated_at)
    db.set_job_status(J.REQUEUEING, from_api=False)
    assert db.store.call_sync(lambda: TaskFailure.select().count()) == 1
    assert db.store.call_sync(blocklist.list_for_job, job_id) == [(w1.uuid, "w1", "misc")]


@pytest.mark.parametrize(("left_in", "tasks", "tasks_after", "after", "moves"), [
    (J.CANCEL_REQUESTED, (C, Q, S), (C, X, X), J.CANCELED,
     (("active", "cancel-requested", True), ("cancel-requested", "canceled", True))),
    (J.PAUSE_REQUESTED, (C, Q, P), (C, P, P), J.PAUSED,
     (("active", "pause-requested", True), ("pause-requested", "paused", False))),
    (J.REQUEUEING, (C, F, X), (C, Q, Q), J.QUEUED,
     (("paused", "requeueing", True), ("requeueing", "queued", True))),
], ids=["cancel-requested", "pause-requested", "requeueing"])
def test_a_restart_finishes_what_a_crash_left_half_done(db: MachineDb, left_in, tasks, tasks_after, after,
                                                        moves) -> None:
    db.make_job(dict(zip("abc", tasks, strict=True)), left_in)
    fx = db.run(unstick_jobs)
    assert db.statuses() == dict(zip("abc", (s.value for s in tasks_after), strict=True))
    assert db.job().status == after
    assert job_moves(fx) == list(moves)
    assert db.job().activity.endswith("re-applied after a Manager restart") or after == J.PAUSED
