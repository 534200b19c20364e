"""What a real Manager answers is what the answer's model of `app.api` reads and writes.

tests/manager/test_openapi_bodies.py ties each model to the OpenAPI document, and the contract test
ties the document to the Manager's answers; this test closes the circle on the answers that changed
shape: each is decoded with its model and encoded again, and nothing may be lost or added.
"""

from __future__ import annotations

from typing import Any

from app.api import codec
from app.api.jobs import Job, Task
from app.api.meta import ManagerVariables, ShamanFileSpecWithStatus, StorageCheckResult
from app.api.models import MayKeepRunning, RegisteredWorker, TablaoManagerProof, WorkerStateChange
from app.api.workers import Worker
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


def _present(value: Any) -> Any:
    """`value` without its nulls: a model reads a null as absent (the document's nullable keys)."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    return [_present(v) for v in value] if isinstance(value, list) else value


def _same(model: type, answer: Any) -> None:
    assert codec.encode(codec.decode(model, answer)) == _present(answer)


async def test_a_workers_task_job_task_and_may_i_run_round_trip(manager):
    w = await HttpWorker(manager.url, name="answers").register_and_sign_on()
    try:
        _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
        _, task = await w.claim()
        await w.update(task["uuid"], taskStatus="active", activity="echoing")

        _, worker = await manager.request("GET", f"/api/v3/worker-mgt/workers/{w.uuid}", admin=True)
        assert worker["task"]["activity"] == "echoing" and worker["task"]["worker"]["id"] == w.uuid
        assert worker["task"]["job_id"] == job["id"]
        _same(Worker, worker)
        _same(Job, (await manager.request("GET", f"/api/v3/jobs/{job['id']}"))[1])
        _same(Task, (await manager.request("GET", f"/api/v3/tasks/{task['uuid']}"))[1])
        _, may = await w.call("GET", f"/api/v3/worker/task/{task['uuid']}/may-i-run")
        _same(MayKeepRunning, may)
        assert MayKeepRunning.from_json(may) == codec.decode(MayKeepRunning, may)
    finally:
        await w.close()


async def test_storage_check_variables_and_shaman_requirements_round_trip(manager, tmp_path):
    _, report = await manager.request("POST", "/api/v3/tablao/storage-check", admin=True,
                                      json={"path": str(tmp_path)})
    assert {"approach_text", "warnings"} <= report.keys()
    _same(StorageCheckResult, report)
    _, missing = await manager.request("POST", "/api/v3/tablao/storage-check", admin=True,
                                       json={"path": str(tmp_path / "nowhere")})
    _same(StorageCheckResult, missing)

    _, variables = await manager.request("GET", "/api/v3/configuration/variables/workers/linux")
    _same(ManagerVariables, {"variables": variables})

    files = [{"sha": "ab" * 32, "size": 3, "path": "a/b.txt"}, {"sha": "cd" * 32, "size": 4}]
    status, answer = await manager.request("POST", "/api/v3/shaman/checkout/requirements", json={"files": files})
    assert status == 200, answer
    assert [f["path"] for f in answer["files"]] == ["a/b.txt", ""]
    for item in answer["files"]:
        _same(ShamanFileSpecWithStatus, item)


async def test_a_workers_registration_sign_on_state_and_proof_round_trip(manager):
    w = HttpWorker(manager.url, name="answers")
    try:
        status, registered = await w.call("POST", "/api/v3/worker/register-worker", json={
            "secret": w.secret, "platform": "linux", "supported_task_types": ["misc"], "name": w.name})
        assert status == 200 and registered["tablao_manager_key"], registered
        _same(RegisteredWorker, registered)
        w.uuid = registered["uuid"]
        status, signed_on = await w.call("POST", "/api/v3/worker/sign-on", json={
            "name": w.name, "supported_task_types": ["misc"], "software_version": "test"})
        assert status == 200 and signed_on["tablao_manager_key"] == registered["tablao_manager_key"]
        _same(WorkerStateChange, signed_on)
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus",
                                          json={"status": "asleep", "is_lazy": False}, admin=True)
        assert status == 204
        status, state = await w.call("GET", "/api/v3/worker/state")
        assert (status, state) == (200, {"status_requested": "asleep"})
        _same(WorkerStateChange, state)
        claim_status, claimed = await w.claim()
        assert (claim_status, claimed) == (423, {"status_requested": "asleep"})
        status, proof = await w.call("POST", "/api/v3/tablao/worker/prove",
                                     json={"worker_id": w.uuid, "nonce": "0" * 64})
        assert status == 200 and len(proof["proof"]) == 64, proof
        _same(TablaoManagerProof, proof)
    finally:
        await w.close()
