"""Task transitions through `Effects` on a real SQLite file: each move the status machine makes, the
`task_did_change` and `job_did_change` events and log lines it emits, and the job status it leads to.

`change_task_status` is the one door every task status change goes through; the entry points that
decide which change to make (a worker's report, its failures, a user's request, a worker that went
away) have their own tests below.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import blocklist, tasks
from app.manager.persistence.models import TaskFailure
from app.manager.state_machine.failures import FailurePolicy
from app.manager.state_machine.statuses import TASK_REQUESTABLE
from app.manager.state_machine.tasks import return_worker_tasks
from tests.manager.state_machine.machine_db import STAMP, MachineDb, job_events, job_moves, task_events

Q, A, C, S, F, X, P = T.QUEUED, T.ACTIVE, T.COMPLETED, T.SOFT_FAILED, T.FAILED, T.CANCELED, T.PAUSED


@dataclass(frozen=True)
class Move:
    """Task `a` goes from `before` to `after`; the job's other tasks are `others` (then `others_after`)."""

    before: T
    after: T
    others: tuple[T, ...]
    job_before: J
    job_after: J
    #: (previous, status, refresh_tasks) of job events; previous is None when only the job's progress moved.
    job_moves: tuple[tuple[str | None, str, bool], ...] = ()
    work: bool = False  # whether workers waiting for work are woken
    others_after: tuple[T, ...] | None = None
    why: str = ""


MOVES = [
    # A worker is given the task (the scheduler's claim).
    Move(Q, A, (Q,), J.QUEUED, J.ACTIVE, (("queued", "active", False),), why="claim-starts-job"),
    Move(Q, A, (C,), J.ACTIVE, J.ACTIVE, why="claim-in-active-job"),
    Move(S, A, (Q,), J.ACTIVE, J.ACTIVE, why="soft-failed-claimed-again"),
    # What a worker reports, or the Manager decides for it (failures.py, worker_sessions.py).
    Move(A, C, (Q,), J.ACTIVE, J.ACTIVE, ((None, "active", False),), why="completed-others-left"),
    Move(A, C, (C,), J.ACTIVE, J.COMPLETED, (("active", "completed", False),), why="last-completed"),
    Move(A, C, (P,), J.PAUSE_REQUESTED, J.PAUSED, (("pause-requested", "paused", False),),
         why="completed-finishes-pausing"),
    Move(A, C, (A,), J.PAUSE_REQUESTED, J.PAUSE_REQUESTED, ((None, "pause-requested", False),),
         why="completed-while-another-runs-in-pausing-job"),
    Move(A, S, (Q,), J.ACTIVE, J.ACTIVE, work=True, why="soft-failed"),
    Move(A, S, (P,), J.PAUSE_REQUESTED, J.PAUSED, (("pause-requested", "paused", False),), work=True,
         why="soft-failed-finishes-pausing"),
    Move(A, F, (Q,) * 10, J.ACTIVE, J.ACTIVE, why="failed-under-ten-percent"),
    Move(A, F, (Q, C, S, A), J.ACTIVE, J.FAILED, (("active", "failed", True),),
         others_after=(X, C, X, X), why="failed-fails-job-and-cancels-the-rest"),
    # A worker went away (sign-off, timeout, deletion): its task goes back, or pauses with its job.
    Move(A, Q, (Q,), J.ACTIVE, J.ACTIVE, work=True, why="given-back"),
    Move(A, P, (P,), J.PAUSE_REQUESTED, J.PAUSED, (("pause-requested", "paused", False),),
         why="given-back-finishes-pausing"),
    Move(A, P, (A,), J.PAUSE_REQUESTED, J.PAUSE_REQUESTED, why="given-back-while-another-runs"),
    # A user cancels a task (TASK_REQUESTABLE).
    Move(A, X, (Q,), J.ACTIVE, J.ACTIVE, why="cancel-active-others-left"),
    Move(Q, X, (C,), J.ACTIVE, J.CANCELED, (("active", "canceled", False),), why="cancel-last-runnable"),
    Move(S, X, (X, F), J.ACTIVE, J.CANCELED, (("active", "canceled", False),), why="cancel-soft-failed"),
    # A user requeues a task (TASK_REQUESTABLE), or the Manager after blocklisting a worker.
    Move(X, Q, (X,), J.CANCELED, J.QUEUED, (("canceled", "queued", False),), work=True, why="requeue-canceled"),
    Move(C, Q, (C,), J.COMPLETED, J.QUEUED, (("completed", "queued", False),), work=True,
         why="requeue-completed"),
    Move(F, Q, (X,), J.FAILED, J.QUEUED, (("failed", "queued", False),), work=True, why="requeue-failed"),
    Move(F, Q, (Q,), J.ACTIVE, J.ACTIVE, work=True, why="requeue-failed-in-active-job"),
    Move(S, Q, (Q,), J.ACTIVE, J.ACTIVE, work=True, why="requeue-soft-failed"),
]


@pytest.mark.parametrize("move", MOVES, ids=[m.why for m in MOVES])
def test_task_transition(db: MachineDb, move: Move) -> None:
    names = ["a"] + [f"o{i}" for i in range(len(move.others))]
    db.make_job(dict(zip(names, (move.before, *move.others), strict=True)), move.job_before)
    worker = db.make_worker("w1")
    steps_before = db.job().steps_completed

    fx = db.set_status("a", move.after, activity="doing it", reason="because", worker=worker)

    assert db.statuses() == dict(zip(names, (move.after, *(move.others_after or move.others)), strict=True))
    assert db.job().status == move.job_after
    first = task_events(fx)[0]
    steps = 1 if move.after == C else 0 if move.after == Q else (1 if move.before == C else 0)
    assert first == {"id": db.uuids["a"], "job_id": db.job_uuid, "name": "a", "updated": STAMP,
                     "status": move.after.value, "previous_status": move.before.value, "activity": "doing it",
                     "steps_completed": steps, "steps_total": 1,
                     "worker": {"uuid": worker.uuid, "name": "w1", "id": worker.uuid}}
    # Tasks a job cascade moves are logged and watched, and broadcast only where a worker was running one.
    others_after = move.others_after or move.others
    assert [e["name"] for e in task_events(fx)[1:]] == [
        n for n, before, after in zip(names[1:], move.others, others_after, strict=True) if before == A and after != A]
    assert job_moves(fx) == list(move.job_moves)
    assert db.log(fx)[0] == ("a", f"task changed status {move.before.value} -> {move.after.value}: because")
    assert fx.work_available is move.work
    assert db.uuids["a"] in fx.watched_tasks  # its long-polls (a worker's may-I-run) wake up
    assert db.job().steps_completed == steps_before + steps - (1 if move.before == C else 0)


def test_every_task_status_a_user_may_request_is_a_tested_transition() -> None:
    tested = {(m.before, m.after) for m in MOVES}
    requestable = {(source, target) for target, sources in TASK_REQUESTABLE.items() for source in sources}
    assert requestable <= tested, f"untested: {sorted(requestable - tested)}"


def test_job_event_carries_the_job(db: MachineDb) -> None:
    db.make_job({"a": A, "b": C}, J.ACTIVE, steps=4)
    fx = db.set_status("a", C)
    assert job_events(fx) == [{"id": db.job_uuid, "name": "job", "updated": STAMP, "status": "completed",
                               "previous_status": "active", "type": "echo-sleep-test", "priority": 50,
                               "refresh_tasks": False, "steps_completed": 8, "steps_total": 8,
                               "activity": 'Changed to status "completed": all tasks completed',
                               "created": "2026-03-01T11:00:00Z", "worker_tag": "", "waiting_on": 0}]
    assert db.job().activity == 'Changed to status "completed": all tasks completed'


def test_same_status_is_an_update_without_a_move(db: MachineDb) -> None:
    db.make_job({"a": A, "b": Q}, J.ACTIVE)
    fx = db.set_status("a", A, activity="Rendering frame 3")
    assert [(e["status"], "previous_status" in e, e["activity"]) for e in task_events(fx)] == [
        ("active", False, "Rendering frame 3")]
    assert fx.log_lines == [] and job_events(fx) == [] and not fx.work_available
    assert db.task("a").activity == "Rendering frame 3"


# -- a worker's failures (failures.py) ---------------------------------------------------------------


def test_first_failure_is_soft_while_other_workers_may_retry(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_worker("w2")
    db.make_job({"a": A, "b": Q}, J.ACTIVE, worker=w1)
    fx = db.fail("a", w1, FailurePolicy(), "Blender crashed")
    assert db.statuses() == {"a": "soft-failed", "b": "queued"} and db.job().status == "active"
    assert [(e["previous_status"], e["status"], e["activity"], e["worker"]["name"]) for e in task_events(fx)] == [
        ("active", "soft-failed", "Blender crashed", "w1")]
    assert db.log(fx) == [("a", "task changed status active -> soft-failed: soft failure; "
                                "2 more failure(s) by other workers will fail the task")]
    assert fx.work_available  # another worker may take it now


def test_third_worker_failing_a_task_fails_it(db: MachineDb) -> None:
    crew = [db.make_worker(f"w{i}") for i in range(4)]
    db.make_job({"a": A, **{f"o{i}": Q for i in range(10)}}, J.ACTIVE, worker=crew[0])
    seen = []
    for worker in crew[:3]:
        db.set_status("a", A, worker=worker)
        fx = db.fail("a", worker, FailurePolicy())
        seen.append(task_events(fx)[-1]["status"])
    assert seen == ["soft-failed", "soft-failed", "failed"]
    assert db.log(fx)[-1] == ("a", "task changed status active -> failed: task failed by 3 workers, "
                                   "marking it as failed")
    assert db.job().status == "active"  # 1 of 11 tasks failed: under the job's 10 %


def test_failure_with_no_worker_left_fails_task_and_job(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_worker("gpu", task_types="blender")  # cannot run "misc" tasks: does not count
    db.make_job({"a": A, **{f"o{i}": Q for i in range(10)}}, J.ACTIVE, worker=w1)
    fx = db.fail("a", w1, FailurePolicy())
    assert db.statuses()["a"] == "failed" and set(list(db.statuses().values())[1:]) == {"canceled"}
    assert job_moves(fx) == [("active", "failed", True)]
    assert db.job().activity == "Changed to status \"failed\": no worker left to run task 'a'"


def test_blocklisting_requeues_the_tasks_the_worker_failed(db: MachineDb) -> None:
    w1, w2 = db.make_worker("w1"), db.make_worker("w2")
    db.make_job({"a": F, "b": S, "c": A, **{f"o{i}": Q for i in range(10)}}, J.ACTIVE, worker=w1)
    db.add_failures("ab", w1)

    fx = db.fail("c", w1, FailurePolicy(blocklist_threshold=3))

    assert db.store.call_sync(blocklist.list_for_job, db.job().id) == [(w1.uuid, "w1", "misc")]
    assert {n: s for n, s in db.statuses().items() if n in "abc"} == {"a": "queued", "b": "soft-failed",
                                                                      "c": "soft-failed"}
    assert db.log(fx) == [
        ("c", "worker w1 failed 3 'misc' tasks of this job and is now blocklisted for them"),
        ("a", "task changed status failed -> queued: worker w1 was blocklisted"),
        ("c", "task changed status active -> soft-failed: soft failure; "
              "2 more failure(s) by other workers will fail the task")]
    assert [(e["name"], e["status"]) for e in task_events(fx)] == [("a", "queued"), ("c", "soft-failed")]
    assert w2  # the worker left to run them


def test_blocklisting_the_last_worker_fails_the_job(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_job({"a": F, "b": F, "c": A, **{f"o{i}": Q for i in range(30)}}, J.ACTIVE, worker=w1)
    db.add_failures("ab", w1)
    fx = db.fail("c", w1, FailurePolicy(blocklist_threshold=3))
    assert db.statuses()["c"] == "failed" and db.job().status == "failed"
    assert db.log(fx)[1] == ("c", "task changed status active -> failed: "
                                  "every worker that could run it is blocklisted")
    assert job_moves(fx) == [("active", "failed", True)]
    assert db.job().activity == "Changed to status \"failed\": no worker left that may run 'misc' tasks of this job"


# -- a user's requeue, a worker that went away (tasks.py) -------------------------------------------


def test_requeue_takes_finished_dependents_along(db: MachineDb) -> None:
    db.make_job({"a": C, "b": C, "c": C, "d": C}, J.COMPLETED, deps={"b": "a", "c": "b"})
    w1 = db.make_worker("w1")
    db.add_failures("a", w1)

    fx = db.requeue("a", "the texture was wrong")

    assert db.statuses() == {"a": "queued", "b": "queued", "c": "queued", "d": "completed"}
    assert db.deps_left() == {"a": 0, "b": 1, "c": 1, "d": 0}
    assert db.log(fx) == [("a", "task changed status completed -> queued: the texture was wrong"),
                          ("b", "task changed status completed -> queued: depends on a"),
                          ("c", "task changed status completed -> queued: depends on a")]
    assert [(e["name"], e["activity"]) for e in task_events(fx)] == [
        ("a", "Requeued: the texture was wrong"), ("b", "Requeued: a dependency was requeued"),
        ("c", "Requeued: a dependency was requeued")]
    # The job's move, then its progress as each dependent's finished steps are taken back.
    assert job_moves(fx) == [("completed", "queued", False), (None, "queued", False), (None, "queued", False)]
    assert db.store.call_sync(lambda: TaskFailure.select().count()) == 0  # a fresh start for a


def test_requeue_leaves_waiting_and_running_dependents(db: MachineDb) -> None:
    db.make_job({"a": F, "b": Q, "c": A}, J.ACTIVE, deps={"b": "a", "c": "b"})
    db.requeue("a", "again")
    assert db.statuses() == {"a": "queued", "b": "queued", "c": "active"}


def test_tasks_of_a_worker_that_went_away_go_back(db: MachineDb) -> None:
    w1, w2 = db.make_worker("w1"), db.make_worker("w2")
    db.make_job({"a": A, "b": Q}, J.ACTIVE, worker=w1)
    b_id = db.task("b").id
    db.store.call_sync(lambda: tasks.update_task(b_id, status="active", worker=w2.id))
    fx = db.run(lambda fx, now: return_worker_tasks(fx, w1, now, "worker signed off"))
    assert db.statuses() == {"a": "queued", "b": "active"}
    assert [(e["name"], e["previous_status"], e["activity"]) for e in task_events(fx)] == [
        ("a", "active", "Task was queued by Manager because worker signed off")]
    assert fx.work_available and job_moves(fx) == []


def test_tasks_of_a_worker_that_went_away_pause_with_their_job(db: MachineDb) -> None:
    w1 = db.make_worker("w1")
    db.make_job({"a": A, "b": P}, J.PAUSE_REQUESTED, worker=w1)
    fx = db.run(lambda fx, now: return_worker_tasks(fx, w1, now, "worker timed out"))
    assert db.statuses() == {"a": "paused", "b": "paused"}
    assert job_moves(fx) == [("pause-requested", "paused", False)]
    assert db.job().activity == 'Changed to status "paused": no more tasks running'
