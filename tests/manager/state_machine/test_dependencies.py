"""`deps_left` through the status machine on a real SQLite file: each task's count of dependencies not
yet completed, which keeps a waiting task out of the scheduler's index. Every read checks the stored
counts against a count made from the dependency rows (`MachineDb.deps_left`)."""

from __future__ import annotations

from app.api.enums import JobStatus as J
from app.api.enums import TaskStatus as T
from app.manager.persistence import scheduler_queries
from app.manager.state_machine.failures import FailurePolicy
from tests.manager.state_machine.machine_db import MachineDb

Q, A, C, S, F, X, P = T.QUEUED, T.ACTIVE, T.COMPLETED, T.SOFT_FAILED, T.FAILED, T.CANCELED, T.PAUSED
#: a; b after a; c after a and b; d on its own; e after d.
DIAMOND = {"b": "a", "c": "ab", "e": "d"}
ALL_QUEUED = {name: Q for name in "abcde"}


def _runnable(db: MachineDb) -> list[str]:
    """What the scheduler hands out, one claim after another, until nothing is left."""
    worker = db.make_worker("claimer")
    handed: list[str] = []
    while True:
        found = db.store.call_sync(scheduler_queries.find_runnable_task, worker.id, ["misc"])
        if found is None:
            break
        name = next(n for n in db.uuids if db.task(n).id == found)
        handed.append(name)
        db.set_status(name, A, worker=worker)
    return handed


def test_completion_counts_down_and_wakes_workers_only_with_dependents(db: MachineDb) -> None:
    db.make_job(ALL_QUEUED, J.QUEUED, deps=DIAMOND)
    assert db.deps_left() == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 1}
    db.set_status("a", A)
    fx = db.set_status("a", C)
    assert db.deps_left() == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 1}
    assert fx.work_available  # b may run now
    db.set_status("b", A)
    db.set_status("b", C)
    assert db.deps_left()["c"] == 0
    db.set_status("c", A)
    assert not db.set_status("c", C).work_available  # nothing waited for c


def test_a_failing_dependency_keeps_its_dependents_waiting(db: MachineDb) -> None:
    w1, w2, _w3 = db.make_worker("w1"), db.make_worker("w2"), db.make_worker("w3")
    policy = FailurePolicy(task_fail_after_softfail_count=2)
    db.make_job({**ALL_QUEUED, **{f"o{i}": Q for i in range(20)}}, J.ACTIVE, deps=DIAMOND)
    db.set_status("a", A, worker=w1)
    db.set_status("a", C)
    db.set_status("b", A, worker=w1)
    db.fail("b", w1, policy)
    assert db.task("b").status == "soft-failed"
    assert db.deps_left() == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 1, **{f"o{i}": 0 for i in range(20)}}
    db.set_status("b", A, worker=w2)
    db.fail("b", w2, policy)
    assert db.task("b").status == "failed" and db.job().status == "active"
    assert db.deps_left()["c"] == 1
    handed = _runnable(db)
    assert "d" in handed and "c" not in handed


def test_requeueing_a_completed_task_counts_its_dependents_up_again(db: MachineDb) -> None:
    db.make_job({"a": C, "b": C, "c": Q, "d": C, "e": A}, J.ACTIVE, deps=DIAMOND)
    assert db.deps_left() == {"a": 0, "b": 0, "c": 0, "d": 0, "e": 0}
    db.requeue("a", "wrong texture")  # b (completed) goes along; c (waiting) stays queued
    assert db.statuses() == {"a": "queued", "b": "queued", "c": "queued", "d": "completed", "e": "active"}
    assert db.deps_left() == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 0}
    assert _runnable(db) == ["a"]


def test_requeueing_a_failed_dependency_changes_no_count(db: MachineDb) -> None:
    db.make_job({"a": F, "b": X, "c": X, "d": C, "e": C}, J.FAILED, deps=DIAMOND)
    assert db.deps_left() == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 0}
    db.requeue("a", "try again")  # b and c (canceled when the job failed) go along
    assert db.statuses() == {"a": "queued", "b": "queued", "c": "queued", "d": "completed", "e": "completed"}
    assert db.deps_left() == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 0}
    assert db.job().status == "queued"
    assert _runnable(db) == ["a"]


def test_canceling_and_pausing_change_no_count(db: MachineDb) -> None:
    db.make_job({"a": C, "b": A, "c": Q, "d": Q, "e": Q}, J.ACTIVE, deps=DIAMOND)
    db.set_job_status(J.PAUSE_REQUESTED)
    assert db.deps_left() == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 1}
    db.set_job_status(J.CANCEL_REQUESTED)
    assert db.statuses() == {"a": "completed", "b": "canceled", "c": "paused", "d": "paused", "e": "paused"}
    assert db.deps_left() == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 1}


def test_job_requeue_counts_afresh(db: MachineDb) -> None:
    db.make_job({n: C for n in "abcde"}, J.COMPLETED, deps=DIAMOND)
    db.set_job_status(J.REQUEUEING)
    assert db.deps_left() == {"a": 0, "b": 1, "c": 2, "d": 0, "e": 1}
    assert _runnable(db) == ["a", "d"]


def test_job_requeue_after_failure_keeps_completed_dependencies_counted_off(db: MachineDb) -> None:
    db.make_job({"a": C, "b": F, "c": X, "d": C, "e": X}, J.FAILED, deps=DIAMOND)
    db.set_job_status(J.REQUEUEING)
    assert db.statuses() == {"a": "completed", "b": "queued", "c": "queued", "d": "completed", "e": "queued"}
    assert db.deps_left() == {"a": 0, "b": 0, "c": 1, "d": 0, "e": 0}
    assert _runnable(db) == ["b", "e"]


def test_the_whole_diamond_runs_in_dependency_order(db: MachineDb) -> None:
    db.make_job(ALL_QUEUED, J.QUEUED, deps=DIAMOND)
    order: list[str] = []
    while len(order) < 5:
        wave = _runnable(db)
        assert wave, f"stuck after {order}: {db.deps_left()}"
        for name in wave:
            db.set_status(name, C)
        order += wave
    assert order == ["a", "d", "b", "e", "c"]
    assert db.job().status == "completed"
