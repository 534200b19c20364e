"""What the stock Flamenco add-on and worker do stays open without any token, local trust off."""

from __future__ import annotations

import asyncio
import base64

import aiohttp

from tests.conftest import echo_job
from tests.http_worker import HttpWorker


async def test_addon_operations_are_open_without_any_token(manager_factory):
    manager = await manager_factory(trust_local_requests=False)
    for path in ("/api/v3/version", "/api/v3/configuration", "/api/v3/jobs/types",
                 "/api/v3/jobs/type/echo-sleep-test", "/api/v3/worker-mgt/tags",
                 "/api/v3/configuration/shared-storage/users/linux",
                 "/api/v3/configuration/variables/users/linux"):
        status, body = await manager.request("GET", path)
        assert status == 200, (path, body)
    status, body = await manager.request("POST", "/api/v3/jobs/check", json=echo_job())
    assert status == 204, body
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200, job
    status, body = await manager.request("POST", "/api/v3/shaman/checkout/requirements", json={
        "files": [{"sha": "a" * 64, "size": 3, "path": "x.blend"}]})
    assert status == 200 and body["files"][0]["status"] == "unknown", body
    for path in ("/api/v3/jobs", f"/api/v3/jobs/{job['id']}", f"/api/v3/jobs/{job['id']}/tasks",
                 "/api/v3/worker-mgt/workers", "/api/v3/status"):
        status, body = await manager.request("GET", path)
        assert status == 200, (path, body)
    task_id = (await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks"))[1]["tasks"][0]["id"]
    status, _ = await manager.request("GET", f"/api/v3/tasks/{task_id}/logtail")
    assert status in (200, 204)


async def test_event_stream_is_open_without_any_token(manager_factory):
    manager = await manager_factory(trust_local_requests=False)
    async with aiohttp.ClientSession() as http, http.ws_connect(manager.url + "/api/v3/tablao/events") as ws:
        assert not ws.closed


async def test_event_stream_takes_the_access_token_as_a_query_parameter(manager_factory):
    manager = await manager_factory(access_token="tok")
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(manager.url + "/api/v3/tablao/events?access_token=tok") as ws:
            assert not ws.closed
        async with http.get(manager.url + "/api/v3/tablao/events") as resp:
            assert resp.status == 403


async def test_worker_runs_a_task_with_worker_credentials_only(manager_factory):
    manager = await manager_factory(trust_local_requests=False, access_token="tok")
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1),
                                            headers={"Authorization": "Bearer tok"})
        assert status == 200, job
        status, task = await worker.claim()
        assert status == 200, task
        status, _ = await worker.complete(task["uuid"])
        assert status == 204
    finally:
        await worker.close()


async def test_basic_scheme_is_case_insensitive_for_workers(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        token = base64.b64encode(f"{worker.uuid}:{worker.secret}".encode()).decode()
        for scheme in ("basic", "BASIC"):
            status, body = await worker.call("GET", "/api/v3/worker/state",
                                             headers={"Authorization": f"{scheme} {token}"})
            assert status in (200, 204), (scheme, body)
    finally:
        await worker.close()


async def test_job_actions_of_submitters_stay_open(manager_factory):
    manager = await manager_factory(trust_local_requests=False)
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 70})
    assert status == 204, body
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                         json={"status": "cancel-requested", "reason": "test"})
    assert status == 204, body
    await asyncio.sleep(0)
    # ... but deleting it is administering.
    status, body = await manager.request("DELETE", f"/api/v3/jobs/{job['id']}")
    assert status == 401 and "admin token" in body["message"]
