"""What a claim comes to, on a real Manager: each typed outcome, and the answer the worker gets."""

from __future__ import annotations

from app.manager.assignments import NO_TASK, MustChangeStatus, NotAwake, TaskAssigned
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


async def _worker(manager, name: str) -> HttpWorker:
    return await HttpWorker(manager.url, name=name).register_and_sign_on()


def _ident(manager, worker: HttpWorker):
    return manager.services.creds.authenticate(worker.auth_header["Authorization"])


async def test_each_claim_outcome_is_its_own_type_and_answer(manager):
    w = await _worker(manager, "claims")
    try:
        sessions, ident = manager.services.sessions, _ident(manager, w)
        assert await sessions.schedule(ident, 0) is NO_TASK
        assert (await w.claim())[0] == 204

        _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
        assigned = await sessions.schedule(ident, 0)
        assert isinstance(assigned, TaskAssigned) and assigned.body["job"] == job["id"]
        status, body = await w.claim()  # the same task again: it is this worker's until it ends
        assert status == 200 and body == assigned.body

        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus",
                                          json={"status": "asleep", "is_lazy": True}, admin=True)
        assert status == 204
        assert await sessions.schedule(ident, 0) == MustChangeStatus("asleep")
        assert await w.claim() == (423, {"status_requested": "asleep"})

        assert (await w.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"}))[0] == 204
        assert await sessions.schedule(ident, 0) == NotAwake("asleep")
        assert await w.claim() == (409, {"code": 409, "message": "worker is 'asleep', not awake; "
                                                                 "announce the state first"})
    finally:
        await w.close()
