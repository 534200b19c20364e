"""What a claim and a task update come to, on a real Manager: the typed outcomes of a claim as the
worker sees them, and a task update's log lines kept and announced by the service itself."""

from __future__ import annotations

from app.api.errors import Conflict
from app.api.events import TASK_DID_CHANGE, TASK_LOG_DID_APPEND
from app.api.models import WorkerTaskUpdate
from app.manager.scheduling.assignments import NO_TASK, MustChangeStatus, NotAwake, TaskAssigned
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


async def test_the_service_keeps_and_announces_a_task_updates_log_after_its_change(manager):
    w = await _worker(manager, "logs")
    seen: list[tuple[str, dict]] = []
    manager.services.bus.add_listener(lambda event: seen.append((event.name, event.data)))
    try:
        _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
        _, task = await w.claim()
        seen.clear()
        # Called as any caller would, without the HTTP handler: the service does the whole update.
        await manager.services.sessions.task_update(_ident(manager, w), task["uuid"],
                                                    WorkerTaskUpdate(activity="Rendering", log="frame 1 of 3\n"))
        names = [name for name, _ in seen]
        assert TASK_DID_CHANGE in names and TASK_LOG_DID_APPEND in names
        assert names.index(TASK_DID_CHANGE) < names.index(TASK_LOG_DID_APPEND)  # the change, then its log
        log_event = seen[names.index(TASK_LOG_DID_APPEND)][1]
        assert log_event == {"task_id": task["uuid"], "log": "frame 1 of 3\n", "job_id": job["id"]}
        await manager.services.machine.drain()
        status, tail = await manager.request("GET", f"/api/v3/tasks/{task['uuid']}/logtail")
        assert status == 200 and "frame 1 of 3" in tail
    finally:
        await w.close()


async def test_a_refused_task_update_keeps_and_announces_no_log(manager):
    w, other = await _worker(manager, "owner"), await _worker(manager, "other")
    seen: list[str] = []
    manager.services.bus.add_listener(lambda event: seen.append(event.name))
    try:
        await manager.request("POST", "/api/v3/jobs", json=echo_job())
        _, task = await w.claim()
        seen.clear()
        try:
            await manager.services.sessions.task_update(_ident(manager, other), task["uuid"],
                                                        WorkerTaskUpdate(log="not mine\n"))
        except Conflict:
            pass
        else:
            raise AssertionError("another worker's update was taken")
        status, body = await other.update(task["uuid"], log="not mine either\n")
        assert status == 409 and "not assigned to this worker" in body["message"]
        assert TASK_LOG_DID_APPEND not in seen
        await manager.services.machine.drain()
        _, tail = await manager.request("GET", f"/api/v3/tasks/{task['uuid']}/logtail")
        assert "not mine" not in tail
    finally:
        await w.close()
        await other.close()
