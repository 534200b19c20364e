"""The worker status machine with fakes: what it persists, what it publishes, what it gives back."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from app.api.enums import WorkerStatus as W
from app.api.errors import PreconditionFailed
from app.common import events as ev
from app.manager.persistence.models import Worker
from app.manager.state_machine.effects import Effects
from app.manager.state_machine.workers import TaskReturner, WorkerPersistence, WorkerStatusMachine

NOW = dt.datetime(2026, 3, 1, 12, 0, 0)


class FakePersistence:
    def __init__(self) -> None:
        self.updates: list[tuple[int, dict[str, Any]]] = []
        self.deleted: list[int] = []

    def update_worker(self, worker_id: int, **fields: Any) -> None:
        self.updates.append((worker_id, fields))

    def soft_delete(self, worker_id: int, now: dt.datetime) -> None:
        self.deleted.append(worker_id)


class FakeReturner:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def __call__(self, fx: Effects, worker: Worker, now: dt.datetime, reason: str) -> None:
        self.calls.append((worker.uuid, reason))


_persistence: WorkerPersistence = FakePersistence()  # type-check-only: the fakes fit the protocols
_returner: TaskReturner = FakeReturner()


@pytest.fixture
def parts() -> tuple[WorkerStatusMachine, FakePersistence, FakeReturner]:
    store, returner = FakePersistence(), FakeReturner()
    return WorkerStatusMachine(store, returner), store, returner


def _worker(status: str = "awake", requested: str = "", **fields: Any) -> Worker:
    return Worker(id=7, uuid="w-7", name="box", status=status, status_requested=requested,
                  lazy_status_request=False, can_restart=False, software="3.6", **fields)


def _events(fx: Effects) -> list[dict[str, Any]]:
    assert all(name == ev.WORKER_DID_CHANGE for name, _ in fx.events)
    return [data for _, data in fx.events]


def test_sign_on_gives_back_old_tasks_and_becomes_starting(parts) -> None:
    machine, store, returner = parts
    worker, fx = _worker("offline"), Effects()
    machine.signed_on(fx, worker, NOW)
    assert returner.calls == [("w-7", "worker signed on again")]
    assert store.updates == [(7, {"status": "starting", "updated_at": NOW, "last_seen_at": NOW})]
    assert _events(fx)[0]["status"] == "starting" and _events(fx)[0]["previous_status"] == "offline"
    assert fx.watched_workers == {"w-7"}  # its long-polls wake up


def test_sign_off_remembers_awake_for_the_next_sign_on(parts) -> None:
    machine, store, returner = parts
    worker, fx = _worker("awake"), Effects()
    machine.signed_off(fx, worker, NOW)
    assert worker.status == "offline" and worker.status_requested == "awake"
    assert store.updates[0][1]["status_requested"] == "awake"
    assert returner.calls == [("w-7", "worker signed off")]
    assert _events(fx)[0]["previous_status"] == "awake"


def test_sign_off_meets_an_offline_request(parts) -> None:
    machine, store, _ = parts
    worker = _worker("awake", requested="offline")
    machine.signed_off(Effects(), worker, NOW)
    assert worker.status_requested == "" and store.updates[0][1]["status_requested"] == ""


def test_reported_status_withdraws_the_request_it_meets(parts) -> None:
    machine, store, returner = parts
    worker, fx = _worker("awake", requested="asleep"), Effects()
    machine.reported(fx, worker, W.ASLEEP, NOW)
    assert worker.status == "asleep" and worker.status_requested == ""
    assert returner.calls == [("w-7", "worker box changed status to 'asleep'")]
    assert _events(fx)[0]["previous_status"] == "awake"


def test_reporting_awake_keeps_its_tasks(parts) -> None:
    machine, _, returner = parts
    machine.reported(Effects(), _worker("starting"), W.AWAKE, NOW)
    assert returner.calls == []


def test_timeout_sets_error_and_asks_for_awake_so_it_can_recover(parts) -> None:
    machine, store, returner = parts
    worker, fx = _worker("awake"), Effects()
    machine.timed_out(fx, worker, NOW)
    assert (worker.status, worker.status_requested) == ("error", "awake")
    assert store.updates == [(7, {"status": "error", "updated_at": NOW, "status_requested": "awake",
                                  "lazy_status_request": False})]
    assert returner.calls == [("w-7", "worker timed out")]
    assert _events(fx)[0]["previous_status"] == "awake"


def test_deletion_soft_deletes_and_publishes_the_previous_status(parts) -> None:
    machine, store, returner = parts
    worker, fx = _worker("asleep"), Effects()
    machine.deleted(fx, worker, NOW)
    assert store.deleted == [7] and returner.calls == [("w-7", "worker is being deleted")]
    event = _events(fx)[0]
    assert event["status"] == "offline" and event["previous_status"] == "asleep" and "deleted_at" in event


def test_user_request_and_withdrawal(parts) -> None:
    machine, store, _ = parts
    worker, fx = _worker("awake"), Effects()
    machine.requested_by_user(fx, worker, W.ASLEEP, True, NOW)
    assert (worker.status_requested, worker.lazy_status_request) == ("asleep", True)
    assert _events(fx)[0]["status_change"] == {"status": "asleep", "is_lazy": True}
    machine.requested_by_user(fx, worker, W.AWAKE, False, NOW)  # its current status: withdrawn
    assert worker.status_requested == "" and store.updates[-1][1]["status_requested"] == ""
    assert worker.status == "awake"  # a request never changes the status itself


def test_restart_request_needs_a_worker_that_can_restart(parts) -> None:
    machine, store, _ = parts
    with pytest.raises(PreconditionFailed):
        machine.requested_by_user(Effects(), _worker("awake"), W.RESTART, False, NOW)
    assert store.updates == []


def test_schedule_leaves_away_workers_and_met_requests_alone(parts) -> None:
    machine, store, _ = parts
    for worker in (_worker("offline"), _worker("error"), _worker("asleep"), _worker("awake", "asleep")):
        fx = Effects()
        machine.requested_by_schedule(fx, worker, W.ASLEEP, NOW)
        assert fx.events == []
    assert store.updates == []
    worker, fx = _worker("awake"), Effects()
    machine.requested_by_schedule(fx, worker, W.ASLEEP, NOW)
    assert worker.status_requested == "asleep" and len(fx.events) == 1
