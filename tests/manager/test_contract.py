"""Every operation of the served OpenAPI document, driven against a real Manager, answers as documented.

The scenario registers a worker, submits a job, runs one of its tasks, uses tags, sleep schedules, the
blocklist, the Shaman and the Tablao additions, and asks for unknown ids and bad input, so each path
gets real ids. Every response is checked against the document the Manager serves (status code listed,
content type listed, JSON body valid against the schema), and every operation must have been called.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import secrets
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.conftest import echo_job
from tests.manager.contract import ResponseChecker, operations

UNKNOWN = "7c0a5e58-0000-4000-8000-000000000000"


class Driver:
    """Calls operations by their documented path template and checks each response."""

    def __init__(self, session: aiohttp.ClientSession, checker: ResponseChecker,
                 admin: dict[str, str] | None = None):
        self.session, self.checker = session, checker
        self.admin = admin or {}  # sent on every call that has no worker credentials
        self.called: set[tuple[str, str]] = set()
        self.problems: list[str] = []

    async def __call__(self, method: str, template: str, *, expect: int | None = None, auth: dict | None = None,
                       **kwargs: Any) -> tuple[int, Any]:
        params = kwargs.pop("path", {})
        url = template.format(**params)
        async with self.session.request(method, url, headers={**(auth or self.admin), **kwargs.pop("headers", {})},
                                        **kwargs) as resp:
            body = await resp.read()
            status, content_type = resp.status, resp.content_type
        self.called.add((method, template))
        self.problems += self.checker.check(method, template, status, content_type if body else "", body)
        if expect is not None:
            assert status == expect, f"{method} {url}: {status} {body[:300]!r}"
        parsed = json.loads(body) if content_type == "application/json" and body else body
        return status, parsed


def _hour_ago() -> str:
    import datetime as dt

    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()


def _jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "JPEG")
    return out.getvalue()


def basic(uuid: str, secret: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{uuid}:{secret}".encode()).decode()}


@pytest.fixture
async def served_spec(manager) -> dict[str, Any]:
    status, spec = await manager.request("GET", "/api/v3/openapi3.json")
    assert status == 200
    return spec


async def test_every_operation_answers_as_the_document_says(manager, served_spec, tmp_path: Path) -> None:
    call = Driver(manager.session, ResponseChecker(served_spec), manager.admin_headers)
    V = "/api/v3"

    # meta ----------------------------------------------------------------------------------
    await call("GET", f"{V}/version", expect=200)
    await call("GET", f"{V}/configuration", expect=200)
    await call("GET", f"{V}/configuration/file", expect=200)
    await call("GET", f"{V}/status", expect=200)
    await call("GET", f"{V}/configuration/check/blender", expect=200)
    await call("POST", f"{V}/configuration/check/blender", json={"path": str(tmp_path / "no-blender")})
    await call("POST", f"{V}/configuration/check/blender", json={})
    await call("POST", f"{V}/configuration/check/shared-storage", json={"path": str(tmp_path)}, expect=200)
    await call("POST", f"{V}/configuration/check/shared-storage", json={"path": 5})
    for audience, platform in [("workers", "linux"), ("users", "windows"), ("nobody", "linux")]:
        await call("GET", f"{V}/configuration/variables/{{audience}}/{{platform}}",
                   path={"audience": audience, "platform": platform})
        await call("GET", f"{V}/configuration/shared-storage/{{audience}}/{{platform}}",
                   path={"audience": audience, "platform": platform})
    await call("POST", f"{V}/configuration/setup-assistant", json={"storageLocation": ""})
    await call("PUT", f"{V}/configuration/file", json={"_meta": "nonsense"})
    await call("GET", f"{V}/tablao/variables", expect=200)
    await call("GET", f"{V}/tablao/fair-share", expect=200)
    await call("GET", f"{V}/tablao/submit-policy", expect=200, params={"platform": "windows"})
    await call("GET", f"{V}/tablao/submit-policy", params={"platform": "x" * 40}, expect=400)
    await call("PUT", f"{V}/tablao/variables", json={"variables": {"nope": 3}})
    await call("POST", f"{V}/tablao/storage-check", json={"path": str(tmp_path)}, expect=200)
    await call("POST", f"{V}/tablao/storage-check", json=[])
    await call("POST", f"{V}/tablao/storage-check", json={"path": "", "shaman_enabled": {}}, expect=400)
    _, empty = await call("POST", f"{V}/configuration/check/shared-storage", expect=200)  # as Flamenco
    assert empty["is_usable"] is False

    # job types and jobs --------------------------------------------------------------------------
    _, types = await call("GET", f"{V}/jobs/types", expect=200)
    await call("GET", f"{V}/jobs/type/{{typeName}}", path={"typeName": "echo-sleep-test"}, expect=200)
    await call("GET", f"{V}/jobs/type/{{typeName}}", path={"typeName": "no-such-type"})
    await call("POST", f"{V}/jobs/check", json=echo_job(), expect=204)
    await call("POST", f"{V}/jobs/check", json={**echo_job(), "type_etag": "stale"})
    await call("POST", f"{V}/jobs/check", json={"name": "x"})
    _, job = await call("POST", f"{V}/jobs", json=echo_job(repeats=1), expect=200)
    _, other = await call("POST", f"{V}/jobs", json=echo_job(repeats=1, initial_status="paused"), expect=200)
    await call("POST", f"{V}/jobs", json={**echo_job(), "type": "no-such-type"})
    await call("POST", f"{V}/jobs", json={**echo_job(), "type_etag": [None]}, expect=400)  # was a 412
    await call("GET", f"{V}/jobs", expect=200)
    await call("GET", f"{V}/tablao/jobs", params={"limit": "1", "offset": "0", "status": "queued"}, expect=200)
    await call("GET", f"{V}/tablao/jobs", params={"limit": "many"})
    await call("GET", f"{V}/tablao/jobs", params={"offset": str(2**80)}, expect=400)  # was a 500
    _, waiting = await call("POST", f"{V}/jobs", json={**echo_job(), "depends_on": [job["id"]]}, expect=200)
    await call("POST", f"{V}/jobs", json={**echo_job(), "depends_on": [UNKNOWN]}, expect=400)
    for chained in (job["id"], waiting["id"], UNKNOWN):
        await call("GET", f"{V}/tablao/jobs/{{job_id}}/chain", path={"job_id": chained})
    depends_on = f"{V}/tablao/jobs/{{job_id}}/depends-on"
    await call("PUT", depends_on, path={"job_id": waiting["id"]}, json={"depends_on": [job["id"]]}, expect=204)
    await call("PUT", depends_on, path={"job_id": job["id"]}, json={"depends_on": [waiting["id"]]}, expect=400)
    await call("PUT", depends_on, path={"job_id": UNKNOWN}, json={"depends_on": []}, expect=404)
    _, needy = await call("POST", f"{V}/jobs", json=echo_job(repeats=1, requirements={
        "engine": "CYCLES", "device": "GPU", "gpu_backend": "OPTIX", "blender_version": "4.2"}), expect=200)
    await call("POST", f"{V}/jobs", json=echo_job(requirements={"device": "TPU"}), expect=400)
    await call("GET", f"{V}/tablao/jobs/{{job_id}}/requirements", path={"job_id": needy["id"]}, expect=200)
    await call("GET", f"{V}/tablao/jobs/{{job_id}}/requirements", path={"job_id": UNKNOWN}, expect=404)
    await call("GET", f"{V}/tablao/jobs/{{job_id}}/task-stats", path={"job_id": needy["id"]}, expect=200)
    await call("GET", f"{V}/tablao/jobs/{{job_id}}/task-stats", path={"job_id": "not-a-uuid"}, expect=400)
    _, etas = await call("GET", f"{V}/tablao/jobs/eta", expect=200)
    assert etas["reasons"][job["id"]].startswith("no task of this job")  # nothing to go by yet
    for job_id in (job["id"], UNKNOWN):
        j = {"job_id": job_id}
        await call("GET", f"{V}/jobs/{{job_id}}", path=j)
        await call("GET", f"{V}/jobs/{{job_id}}/tasks", path=j)
        await call("GET", f"{V}/jobs/{{job_id}}/what-would-delete-do", path=j)
        await call("GET", f"{V}/jobs/{{job_id}}/last-rendered", path=j)
        await call("GET", f"{V}/jobs/{{job_id}}/blocklist", path=j)
        await call("POST", f"{V}/jobs/{{job_id}}/setpriority", path=j, json={"priority": 60})
        await call("POST", f"{V}/jobs/{{job_id}}/settag", path=j, json={"name": ""})
    j = {"job_id": job["id"]}
    await call("POST", f"{V}/jobs/{{job_id}}/setpriority", path=j, json={"priority": 1000})
    await call("POST", f"{V}/jobs/{{job_id}}/setstatus", path=j, json={"status": "completed", "reason": "x"})
    await call("POST", f"{V}/jobs/{{job_id}}/setstatus", path={"job_id": UNKNOWN},
               json={"status": "paused", "reason": "x"})
    await call("GET", f"{V}/jobs/last-rendered")
    _, tasks = await call("GET", f"{V}/jobs/{{job_id}}/tasks", path=j, expect=200)
    task_id = tasks["tasks"][0]["id"]

    # workers, their tags and sleep schedules ------------------------------------------------------
    secret = secrets.token_hex(16)
    await call("POST", f"{V}/worker/register-worker", json={"name": "contract"})
    _, worker = await call("POST", f"{V}/worker/register-worker", expect=200, json={
        "name": "contract", "secret": secret, "platform": "linux",
        "supported_task_types": ["misc", "blender", "ffmpeg", "file-management"]})
    auth = basic(worker["uuid"], secret)
    await call("POST", f"{V}/tablao/worker/prove", json={"worker_id": worker["uuid"], "nonce": "0" * 64}, expect=200)
    await call("POST", f"{V}/tablao/worker/prove", json={"worker_id": UNKNOWN, "nonce": "0" * 64}, expect=404)
    await call("POST", f"{V}/tablao/worker/prove", json={"worker_id": worker["uuid"]}, expect=400)
    await call("POST", f"{V}/tablao/worker/prove", json={"worker_id": "worker-7", "nonce": "0" * 64}, expect=400)
    await call("GET", f"{V}/worker/state")  # no credentials
    await call("POST", f"{V}/worker/sign-on", auth=auth, expect=200, json={
        "name": "contract", "supported_task_types": ["misc"], "software_version": "test"})
    await call("GET", f"{V}/worker/state", auth=auth)
    await call("POST", f"{V}/worker/state-changed", auth=auth, json={"status": "awake"}, expect=204)
    await call("POST", f"{V}/worker/state-changed", auth=auth, json={"status": "bogus"})
    _, claimed = await call("POST", f"{V}/worker/task", auth=auth, expect=200)
    t = {"task_id": claimed["uuid"]}
    await call("GET", f"{V}/worker/task/{{task_id}}/may-i-run", auth=auth, path=t, expect=200)
    await call("GET", f"{V}/worker/task/{{task_id}}/may-i-run", auth=auth, path={"task_id": UNKNOWN})
    await call("POST", f"{V}/worker/task/{{task_id}}", auth=auth, path=t, expect=204,
               json={"taskStatus": "active", "activity": "echoing", "log": "hello\n"})
    await call("POST", f"{V}/worker/task/{{task_id}}", auth=auth, path={"task_id": UNKNOWN},
               json={"taskStatus": "active"})
    await call("POST", f"{V}/worker/task/{{task_id}}/output-produced", auth=auth, path=t,
               data=_jpeg(), headers={"Content-Type": "image/jpeg"})
    await call("POST", f"{V}/worker/task/{{task_id}}/output-produced", auth=auth, path=t,
               data=b"text", headers={"Content-Type": "text/plain"})
    for tid in (claimed["uuid"], UNKNOWN):
        await call("GET", f"{V}/tasks/{{task_id}}", path={"task_id": tid})
        await call("GET", f"{V}/tasks/{{task_id}}/logtail", path={"task_id": tid})
        await call("GET", f"{V}/tasks/{{task_id}}/log", path={"task_id": tid})
        await call("GET", f"{V}/tablao/tasks/{{task_id}}/log", path={"task_id": tid})
    await call("POST", f"{V}/worker/task/{{task_id}}", auth=auth, path=t, expect=204,
               json={"taskStatus": "failed", "activity": "failed", "log": "broke\n"})
    await call("POST", f"{V}/tasks/{{task_id}}/setstatus", path={"task_id": task_id},
               json={"status": "queued", "reason": "again"})
    await call("POST", f"{V}/tasks/{{task_id}}/setstatus", path={"task_id": task_id},
               json={"status": "nonsense", "reason": "x"})
    await call("POST", f"{V}/tasks/{{task_id}}/setstatus", path={"task_id": UNKNOWN},
               json={"status": "queued", "reason": "x"})
    await call("GET", f"{V}/jobs/{{job_id}}/blocklist", path=j)
    await call("DELETE", f"{V}/jobs/{{job_id}}/blocklist", path=j,
               json=[{"worker_id": worker["uuid"], "task_type": "misc"}], expect=204)
    await call("DELETE", f"{V}/jobs/{{job_id}}/blocklist", path=j, json={"not": "a list"})
    await call("DELETE", f"{V}/jobs/{{job_id}}/blocklist", path=j, expect=204)  # no body: nothing, as Flamenco

    await call("POST", f"{V}/tablao/worker/vitals", auth=auth, expect=204, json={
        "cpu_percent": 12.5, "render_cpu_percent": 3, "cpu_count": 8, "memory_used": 1 << 30,
        "memory_total": 1 << 34, "render_memory": 1 << 28, "blender_version": "3.4.1", "frame": 12,
        "sample": 64, "samples_total": 128, "gpus": [{"name": "NVIDIA RTX A4000", "percent": 97.0,
                                                      "memory_used": 1 << 30, "memory_total": 1 << 34}]})
    await call("POST", f"{V}/tablao/worker/vitals", auth=auth, json={"cpu_percent": 250}, expect=400)
    await call("POST", f"{V}/tablao/worker/vitals", auth=auth, data=b"{" + b" " * 5000 + b"}",
               headers={"Content-Type": "application/json"}, expect=413)
    await call("POST", f"{V}/tablao/worker/vitals", json={"cpu_percent": 1})  # no credentials
    day = {"worker_id": worker["uuid"]}
    _, today = await call("GET", f"{V}/tablao/workers/{{worker_id}}/day", path=day, expect=200,
                          params={"since": _hour_ago()})
    assert today["tasks_failed"] == 1, today
    await call("GET", f"{V}/tablao/workers/{{worker_id}}/day", path=day, expect=400)
    await call("GET", f"{V}/tablao/workers/{{worker_id}}/day", path=day, params={"since": "today"}, expect=400)
    await call("GET", f"{V}/tablao/workers/{{worker_id}}/day", path={"worker_id": UNKNOWN},
               params={"since": _hour_ago()}, expect=404)
    await call("GET", f"{V}/tablao/workers/{{worker_id}}/day", path=day, auth=auth, params={"since": _hour_ago()},
               expect=200)

    w = {"worker_id": worker["uuid"]}
    await call("GET", f"{V}/worker-mgt/workers", expect=200)
    for wid in (worker["uuid"], UNKNOWN):
        await call("GET", f"{V}/worker-mgt/workers/{{worker_id}}", path={"worker_id": wid})
        await call("GET", f"{V}/worker-mgt/workers/{{worker_id}}/sleep-schedule", path={"worker_id": wid})
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/sleep-schedule", path=w, expect=204,
               json={"is_active": False, "days_of_week": "mo tu", "start_time": "22:00", "end_time": "06:00"})
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/sleep-schedule", path=w,
               json={"is_active": True, "days_of_week": "", "start_time": "25:00", "end_time": "06:00"})
    await call("GET", f"{V}/worker-mgt/workers/{{worker_id}}/sleep-schedule", path=w, expect=200)
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/setstatus", path=w,
               json={"status": "asleep", "is_lazy": True}, expect=204)
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/setstatus", path={"worker_id": UNKNOWN},
               json={"status": "asleep", "is_lazy": True})
    await call("POST", f"{V}/worker/task", auth=auth)  # a status change is pending: 423
    _, tag = await call("POST", f"{V}/worker-mgt/tags", json={"name": "gpu", "description": "GPUs"}, expect=200)
    await call("POST", f"{V}/worker-mgt/tags", json={"name": ""})
    await call("POST", f"{V}/worker-mgt/tags", json={"name": "x", "description": {}}, expect=400)
    await call("GET", f"{V}/worker-mgt/tags", expect=200)
    for tid in (tag["id"], UNKNOWN):
        await call("GET", f"{V}/worker-mgt/tag/{{tag_id}}", path={"tag_id": tid})
        await call("PUT", f"{V}/worker-mgt/tag/{{tag_id}}", path={"tag_id": tid}, json={"name": "gpus"})
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/settags", path=w, json={"tag_ids": [tag["id"]]},
               expect=204)
    await call("POST", f"{V}/worker-mgt/workers/{{worker_id}}/settags", path=w, json={"tag_ids": [UNKNOWN]})
    await call("POST", f"{V}/jobs/{{job_id}}/settag", path=j, json={"name": "gpus"})
    await call("GET", f"{V}/worker/state", auth=auth)
    await call("POST", f"{V}/worker/sign-off", auth=auth, expect=204)

    # the Shaman ------------------------------------------------------------------------------------
    content = b"contract test file\n"
    sha, size = hashlib.sha256(content).hexdigest(), len(content)
    f = {"checksum": sha, "filesize": size}
    spec_file = {"sha": sha, "size": size, "path": "scene.blend"}
    await call("POST", f"{V}/shaman/checkout/requirements", json={"files": [spec_file]})
    await call("POST", f"{V}/shaman/checkout/requirements", json={"files": "none"})
    await call("GET", f"{V}/shaman/files/{{checksum}}/{{filesize}}", path=f)
    await call("POST", f"{V}/shaman/files/{{checksum}}/{{filesize}}", path=f, data=content,
               headers={"Content-Type": "application/octet-stream"})
    await call("POST", f"{V}/shaman/files/{{checksum}}/{{filesize}}", path=f, data=content,
               headers={"Content-Type": "application/octet-stream"})
    await call("POST", f"{V}/shaman/files/{{checksum}}/{{filesize}}", path={"checksum": sha, "filesize": 3},
               data=content, headers={"Content-Type": "application/octet-stream"})
    await call("GET", f"{V}/shaman/files/{{checksum}}/{{filesize}}", path={"checksum": "abc", "filesize": 1})
    await call("POST", f"{V}/shaman/checkout/create", json={"checkoutPath": "contract/one", "files": [spec_file]})
    await call("POST", f"{V}/shaman/checkout/create", json={"checkoutPath": "contract/one", "files": [spec_file]})
    await call("POST", f"{V}/shaman/checkout/create", json={"checkoutPath": "../out", "files": [spec_file]})

    # the event stream ----------------------------------------------------------------------------------
    await call("GET", f"{V}/tablao/events")  # not a websocket upgrade
    async with manager.session.ws_connect(f"{V}/tablao/events") as ws:
        call.called.add(("GET", f"{V}/tablao/events"))
        await ws.close()

    # deletions -----------------------------------------------------------------------------------------
    for tid in (tag["id"], UNKNOWN):
        await call("DELETE", f"{V}/worker-mgt/tag/{{tag_id}}", path={"tag_id": tid})
    for wid in (worker["uuid"], UNKNOWN):
        await call("DELETE", f"{V}/worker-mgt/workers/{{worker_id}}", path={"worker_id": wid})
    for job_id in (other["id"], UNKNOWN):
        await call("DELETE", f"{V}/jobs/{{job_id}}", path={"job_id": job_id})
    await call("DELETE", f"{V}/jobs/mass-delete", json={"last_updated_max": "2000-01-01T00:00:00Z"})
    await call("DELETE", f"{V}/jobs/mass-delete", json={"last_updated_max": "yesterday"})
    await call("DELETE", f"{V}/jobs/mass-delete", json={"last_updated_max": "2999-01-01T00:00:00Z"}, expect=204)

    assert call.problems == [], "\n".join(call.problems)
    missing = set(operations(served_spec)) - call.called
    assert not missing, f"operations the test did not call: {sorted(missing)}"
