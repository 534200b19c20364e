"""A worker may change its OWN status with its own credentials (the artist's tray on a remote
Manager), never another worker's; without credentials the admin token is still needed."""

from __future__ import annotations

from app.api.client import ManagerClient
from app.api.errors import HttpError
from app.api.transport import basic_auth
from app.api.workers import WorkerSleepSchedule

SECRET_A, SECRET_B = "a" * 64, "b" * 64


async def _register(manager, name: str, secret: str) -> str:
    status, body = await manager.request("POST", "/api/v3/worker/register-worker", json={
        "name": name, "secret": secret, "platform": "linux", "supported_task_types": ["misc"]})
    assert status == 200, body
    return body["uuid"]


def _setstatus(worker_id: str) -> str:
    return f"/api/v3/worker-mgt/workers/{worker_id}/setstatus"


async def test_a_worker_changes_its_own_status_with_its_credentials_only(manager_factory):
    manager = await manager_factory(trust_local_requests=False)  # as a remote Manager: no local trust
    a = await _register(manager, "artist-a", SECRET_A)
    b = await _register(manager, "artist-b", SECRET_B)
    asleep = {"status": "asleep", "is_lazy": False}

    status, body = await manager.request("POST", _setstatus(a), json=asleep,
                                         headers={"Authorization": basic_auth(a, SECRET_A)})
    assert status == 204, body
    status, worker = await manager.request("GET", f"/api/v3/worker-mgt/workers/{a}")
    assert worker["status_change"]["status"] == "asleep"

    status, body = await manager.request("POST", _setstatus(b), json=asleep,
                                         headers={"Authorization": basic_auth(a, SECRET_A)})
    assert status == 403 and "its own status and sleep schedule only" in body["message"] and b in body["message"], body
    status, body = await manager.request("POST", _setstatus(a), json=asleep,
                                         headers={"Authorization": basic_auth(a, SECRET_B)})
    assert status == 403 and "wrong secret" in body["message"], body
    status, body = await manager.request("POST", _setstatus(a), json=asleep)
    assert status == 401 and "admin token" in body["message"], body
    status, body = await manager.request("POST", _setstatus(a), json={"status": "nonsense"},
                                         headers={"Authorization": basic_auth(a, SECRET_A)})
    assert status == 400 and body["message"], body


async def test_the_client_sends_the_workers_credentials_when_asked(manager_factory):
    manager = await manager_factory(trust_local_requests=False)
    a = await _register(manager, "artist-a", SECRET_A)
    b = await _register(manager, "artist-b", SECRET_B)
    async with ManagerClient(manager.url) as client:
        client.transport.worker_auth = lambda: (a, SECRET_A)
        await client.request_worker_status(a, "asleep", lazy=False, as_worker=True)
        assert str((await client.worker(a)).status_change.status) == "asleep"
        try:
            await client.request_worker_status(b, "asleep", lazy=False, as_worker=True)
            raise AssertionError("another worker's status was changed")
        except HttpError as exc:
            assert exc.status == 403
        try:
            await client.request_worker_status(a, "awake", lazy=False)  # no credentials, no token
            raise AssertionError("changed without credentials")
        except HttpError as exc:
            assert exc.status == 401


async def test_a_worker_sets_its_own_sleep_schedule_never_anothers(manager_factory):
    manager = await manager_factory()
    a = await _register(manager, "artist-a", SECRET_A)
    b = await _register(manager, "artist-b", SECRET_B)
    schedule = {"is_active": True, "days_of_week": "mo tu", "start_time": "22:00", "end_time": "06:00"}
    path = "/api/v3/worker-mgt/workers/{}/sleep-schedule"
    status, body = await manager.request("POST", path.format(a), json=schedule,
                                         headers={"Authorization": basic_auth(a, SECRET_A)})
    assert status == 204, body
    status, body = await manager.request("POST", path.format(b), json=schedule,
                                         headers={"Authorization": basic_auth(a, SECRET_A)})
    assert status == 403 and b in body["message"], body
    status, body = await manager.request("POST", path.format(b), json=schedule)
    assert status == 401, body
    assert (await manager.request("GET", path.format(b)))[0] == 204  # nothing stored for b
    async with ManagerClient(manager.url) as client:
        client.transport.worker_auth = lambda: (b, SECRET_B)
        await client.set_sleep_schedule(b, WorkerSleepSchedule(**schedule), as_worker=True)
    assert (await manager.request("GET", path.format(b)))[1]["start_time"] == "22:00"
