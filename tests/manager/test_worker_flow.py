"""The worker side of the Manager and the status machines, driven over real HTTP."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import echo_job
from tests.http_worker import HttpWorker


@pytest.fixture
async def workers(manager):
    made: list[HttpWorker] = []

    async def make(name: str = "w", **kw) -> HttpWorker:
        w = await HttpWorker(manager.url, name=f"{name}{len(made)}", **kw).register_and_sign_on()
        made.append(w)
        return w

    yield make
    for w in made:
        await w.close()


async def _job(manager, job_id):
    return (await manager.request("GET", f"/api/v3/jobs/{job_id}"))[1]


async def _tasks(manager, job_id):
    return (await manager.request("GET", f"/api/v3/jobs/{job_id}/tasks"))[1]["tasks"]


async def test_worker_runs_a_job_to_completion(manager, workers):
    w = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    seen = []
    while True:
        status, task = await w.claim()
        if status == 204:
            break
        assert status == 200, task
        assert task["job"] == job["id"] and task["status"] == "active"
        seen.append(task["name"])
        assert (await w.update(task["uuid"], steps_completed=1))[0] == 204
        assert (await w.complete(task["uuid"], log=f"ran {task['name']}\n"))[0] == 204
    assert seen == ["echo", "sleep", "sleep"]
    fetched = await _job(manager, job["id"])
    assert fetched["status"] == "completed" and fetched["steps_completed"] == fetched["steps_total"]
    first = (await _tasks(manager, job["id"]))[0]
    await manager.services.machine.drain()
    status, tail = await manager.request("GET", f"/api/v3/tasks/{first['id']}/logtail")
    assert status == 200 and "ran echo" in tail and "queued -> active" in tail


async def test_dependencies_hold_back_tasks(manager, workers):
    a, b = await workers(), await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    status, echo = await a.claim()
    assert echo["name"] == "echo"
    assert (await b.claim())[0] == 204  # sleeps depend on echo
    await a.complete(echo["uuid"])
    status, sleep = await b.claim()
    assert status == 200 and sleep["name"] == "sleep"


async def test_concurrent_claims_never_share_a_task(manager, workers):
    ws = [await workers() for _ in range(12)]
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=30))
    _, echo = await ws[0].claim()
    await ws[0].complete(echo["uuid"])
    results = await asyncio.gather(*(w.claim() for w in ws))
    uuids = [body["uuid"] for status, body in results if status == 200]
    assert len(uuids) == 12 and len(set(uuids)) == 12


async def test_scheduler_order_priority_then_creation(manager, workers):
    w = await workers()
    _, low = await manager.request("POST", "/api/v3/jobs", json=echo_job(priority=10, repeats=0))
    _, old = await manager.request("POST", "/api/v3/jobs", json=echo_job(priority=50, repeats=0))
    _, new = await manager.request("POST", "/api/v3/jobs", json=echo_job(priority=50, repeats=0))
    _, high = await manager.request("POST", "/api/v3/jobs", json=echo_job(priority=90, repeats=0))
    order = []
    for _ in range(4):
        _, task = await w.claim()
        order.append(task["job"])
        await w.complete(task["uuid"])
    assert order == [high["id"], old["id"], new["id"], low["id"]]


async def test_unsupported_task_types_are_not_handed_out(manager, workers):
    w = await workers(task_types=["blender"])
    await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert (await w.claim())[0] == 204


async def test_long_poll_learns_of_new_work_quickly(manager, workers):
    w = await workers()
    # Start the job compiler process first: the bound is on hand-out, not on Python's start-up.
    assert (await manager.request("GET", "/api/v3/jobs/types"))[0] == 200
    claim = asyncio.create_task(w.claim(wait=10))
    await asyncio.sleep(0.3)
    assert not claim.done()
    t0 = time.monotonic()
    await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, task = await claim
    assert status == 200 and task["name"] == "echo"
    assert time.monotonic() - t0 < 1.0


async def test_long_poll_times_out_with_204(manager, workers):
    w = await workers()
    t0 = time.monotonic()
    status, _ = await w.claim(wait=0.5)
    assert status == 204 and 0.4 < time.monotonic() - t0 < 3


async def test_cancel_wakes_may_i_run_long_poll(manager, workers):
    w = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    _, task = await w.claim()
    poll = asyncio.create_task(w.call("GET", f"/api/v3/worker/task/{task['uuid']}/may-i-run",
                                      headers={"X-Tablao-Wait": "10"}))
    await asyncio.sleep(0.3)
    assert not poll.done()
    t0 = time.monotonic()
    status, _ = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                      json={"status": "cancel-requested", "reason": "test"})
    assert status == 204
    status, answer = await poll
    assert status == 200 and answer["mayKeepRunning"] is False
    assert time.monotonic() - t0 < 1.0
    assert (await _job(manager, job["id"]))["status"] == "canceled"
    # Its late "completed" is refused: the task is no longer active.
    assert (await w.complete(task["uuid"]))[0] == 409


async def test_soft_failure_then_other_worker_then_hard_failure(manager, workers):
    ws = [await workers() for _ in range(4)]
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=0))
    for i in range(3):
        status, task = await ws[i].claim()
        assert status == 200 and task["name"] == "echo"
        await ws[i].fail(task["uuid"])
        assert (await ws[i].claim())[0] == 204  # never handed back to a worker that failed it
    tasks = await _tasks(manager, job["id"])
    assert tasks[0]["status"] == "failed"
    assert (await _job(manager, job["id"]))["status"] == "failed"
    status, detail = await manager.request("GET", f"/api/v3/tasks/{tasks[0]['id']}")
    assert len(detail["failed_by_workers"]) == 3


async def test_blocklist_after_threshold_and_job_fails_when_nobody_left(manager, workers):
    a = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=0))
    status, task = await a.claim()
    await a.fail(task["uuid"])
    # One worker, and it failed the only task: nobody is left to retry it.
    tasks = await _tasks(manager, job["id"])
    assert tasks[0]["status"] == "failed"
    assert (await _job(manager, job["id"]))["status"] == "failed"


async def test_worker_blocklisted_for_task_type(manager_factory):
    manager = await manager_factory(blocklist_threshold=2)
    bad = await HttpWorker(manager.url, name="bad").register_and_sign_on()
    good = await HttpWorker(manager.url, name="good").register_and_sign_on()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=4))
    _, echo = await good.claim()
    await good.complete(echo["uuid"])
    for _ in range(2):
        _, t = await bad.claim()
        await bad.fail(t["uuid"])
    _, blocks = await manager.request("GET", f"/api/v3/jobs/{job['id']}/blocklist")
    assert [(b["worker_id"], b["task_type"]) for b in blocks] == [(bad.uuid, "misc")]
    assert (await bad.claim())[0] == 204
    done = 0
    while (r := await good.claim())[0] == 200:
        await good.complete(r[1]["uuid"])
        done += 1
    assert done == 4
    assert (await _job(manager, job["id"]))["status"] == "completed"
    await bad.close()
    await good.close()


async def test_state_change_request_gives_423_and_not_awake_409(manager, workers):
    w = await workers()
    status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus",
                                      json={"status": "asleep", "is_lazy": True}, admin=True)
    assert status == 204
    status, body = await w.claim()
    assert status == 423 and body["status_requested"] == "asleep"
    assert (await w.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"}))[0] == 204
    status, _ = await w.claim()
    assert status == 409
    status, _ = await w.call("GET", "/api/v3/worker/state")
    assert status == 204


async def test_bad_credentials_403(manager, workers):
    w = await workers()
    w.secret = "wrong"
    status, body = await w.claim()
    assert status == 403 and "secret" in body["message"]


@pytest.mark.parametrize("body, words", [
    ({"name": "w", "supported_task_types": ["misc"]}, "`software_version` is required"),
    ({"name": "w", "supported_task_types": ["misc"], "software_version": "1", "can_restart": "yes"},
     "`can_restart` must be true or false"),
    ({"name": " ", "supported_task_types": ["misc"], "software_version": "1"}, "`name` is required"),
])
async def test_sign_on_is_typed_as_documented(manager, workers, body, words):
    w = await workers()
    status, answer = await w.call("POST", "/api/v3/worker/sign-on", json=body)
    assert status == 400 and words in answer["message"], answer


@pytest.mark.parametrize("wait", ["-1", "soon", "nan", "inf"])
async def test_a_long_poll_wait_that_is_not_seconds_is_400(manager, workers, wait):
    w = await workers()
    status, answer = await w.call("POST", "/api/v3/worker/task", headers={"X-Tablao-Wait": wait})
    assert status == 400 and "X-Tablao-Wait must be a number of seconds" in answer["message"], answer
    status, _ = await w.call("POST", "/api/v3/worker/task", headers={"X-Tablao-Wait": "0.5"})
    assert status == 204


async def test_sign_off_requeues_active_task(manager, workers):
    w = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    _, task = await w.claim()
    assert (await w.call("POST", "/api/v3/worker/sign-off"))[0] == 204
    tasks = await _tasks(manager, job["id"])
    assert tasks[0]["status"] == "queued"
    _, info = await manager.request("GET", f"/api/v3/worker-mgt/workers/{w.uuid}")
    assert info["status"] == "offline"


async def test_requeue_one_task_of_completed_job_reruns_it_and_dependents_only(manager, workers):
    w = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    while (r := await w.claim())[0] == 200:
        await w.complete(r[1]["uuid"])
    assert (await _job(manager, job["id"]))["status"] == "completed"
    tasks = await _tasks(manager, job["id"])
    sleep_task = tasks[1]
    status, body = await manager.request("POST", f"/api/v3/tasks/{sleep_task['id']}/setstatus",
                                         json={"status": "queued", "reason": "bad frame"})
    assert status == 204, body
    statuses = [t["status"] for t in await _tasks(manager, job["id"])]
    assert statuses == ["completed", "queued", "completed"]
    assert (await _job(manager, job["id"]))["status"] == "queued"
    _, task = await w.claim()
    assert task["uuid"] == sleep_task["id"]


async def test_pause_lets_active_task_finish_then_paused(manager, workers):
    w = await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    _, task = await w.claim()
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus", json={"status": "pause-requested", "reason": ""})
    assert (await _job(manager, job["id"]))["status"] == "pause-requested"
    await w.complete(task["uuid"])
    assert (await _job(manager, job["id"]))["status"] == "paused"
    assert [t["status"] for t in await _tasks(manager, job["id"])] == ["completed", "paused", "paused"]
    assert (await w.claim())[0] == 204
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus", json={"status": "requeueing", "reason": ""})
    assert (await _job(manager, job["id"]))["status"] == "queued"
    assert (await w.claim())[0] == 200


async def test_job_tag_limits_workers(manager, workers):
    _, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"}, admin=True)
    plain, gpu = await workers(), await workers()
    await manager.request("POST", f"/api/v3/worker-mgt/workers/{gpu.uuid}/settags", json={"tag_ids": [tag["id"]]}, admin=True)
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(worker_tag=tag["id"]))
    assert status == 200, job
    assert (await plain.claim())[0] == 204
    assert (await gpu.claim())[0] == 200
    status, body = await manager.request("DELETE", f"/api/v3/worker-mgt/tag/{tag['id']}", admin=True)
    assert status == 409 and "unfinished" in body["message"]


async def test_worker_timeout_requeues_and_worker_recovers(manager_factory):
    manager = await manager_factory(worker_timeout=1.0)
    checker = next(s for s in manager.services.background if type(s).__name__ == "TimeoutChecker")
    checker.interval = 0.2
    a = await HttpWorker(manager.url, name="a").register_and_sign_on()
    b = await HttpWorker(manager.url, name="b").register_and_sign_on()
    try:
        _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=0))
        _, task = await a.claim()
        for _ in range(30):
            await b.claim(wait=0.2)  # b stays alive; a goes silent
            _, info = await manager.request("GET", f"/api/v3/worker-mgt/workers/{a.uuid}")
            if info["status"] == "error":
                break
        assert info["status"] == "error"
        tasks = await _tasks(manager, job["id"])
        # Requeued, and possibly already picked up by b, which keeps asking for work.
        assert tasks[0]["status"] in ("soft-failed", "queued") or tasks[0]["worker"]["id"] == b.uuid
        status, body = await a.claim()
        assert status == 423 and body["status_requested"] == "awake"
        await a.call("POST", "/api/v3/worker/state-changed", json={"status": "awake"})
        _, info = await manager.request("GET", f"/api/v3/worker-mgt/workers/{a.uuid}")
        assert info["status"] == "awake"
    finally:
        await a.close()
        await b.close()


async def test_event_stream_pushes_job_and_task_changes(manager, workers):
    import aiohttp

    async with (aiohttp.ClientSession() as session,
                session.ws_connect(f"{manager.url}/api/v3/tablao/events") as ws):
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "manager_did_start"
        _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
        event = await ws.receive_json(timeout=5)
        while event["type"] != "job_did_change":  # farm status may change first
            event = await ws.receive_json(timeout=5)
        assert event["data"]["id"] == job["id"] and event["data"]["status"] == "queued"
        w = await workers()
        _, task = await w.claim()
        seen = set()
        for _ in range(10):
            ev = await ws.receive_json(timeout=5)
            seen.add(ev["type"])
            if ev["type"] == "task_did_change" and ev["data"]["id"] == task["uuid"]:
                assert ev["data"]["status"] == "active" and ev["data"]["previous_status"] == "queued"
                break
        assert "task_did_change" in seen


async def test_asleep_worker_learns_of_wake_up_request_at_once(manager, workers):
    w = await workers()
    await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus",
                          json={"status": "asleep", "is_lazy": False}, admin=True)
    await w.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"})
    poll = asyncio.create_task(w.call("GET", "/api/v3/worker/state", headers={"X-Tablao-Wait": "10"}))
    await asyncio.sleep(0.3)
    assert not poll.done()
    t0 = time.monotonic()
    await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/setstatus",
                          json={"status": "awake", "is_lazy": False}, admin=True)
    status, body = await poll
    assert status == 200 and body["status_requested"] == "awake"
    assert time.monotonic() - t0 < 1.0


async def test_sleep_schedule_stored_and_validated(manager, workers):
    w = await workers()
    path = f"/api/v3/worker-mgt/workers/{w.uuid}/sleep-schedule"
    assert (await manager.request("GET", path))[0] == 204
    sched = {"is_active": True, "days_of_week": "mo tu", "start_time": "22:00", "end_time": "06:00"}
    assert (await manager.request("POST", path, json=sched, admin=True))[0] == 204
    status, body = await manager.request("GET", path)
    assert status == 200 and body == sched
    status, body = await manager.request("POST", path, json={**sched, "start_time": "25:00"}, admin=True)
    assert status == 400 and "HH:MM" in body["message"]


async def test_active_sleep_schedule_sends_worker_to_sleep_at_once(manager, workers):
    w = await workers()
    # Every day, all day (but the last minute, when this test cannot tell).
    sched = {"is_active": True, "days_of_week": "", "start_time": "00:00", "end_time": "23:59"}
    assert (await manager.request("POST", f"/api/v3/worker-mgt/workers/{w.uuid}/sleep-schedule", json=sched, admin=True))[0] == 204

    async def requested():
        _, info = await manager.request("GET", f"/api/v3/worker-mgt/workers/{w.uuid}")
        return (info.get("status_change") or {}).get("status")
    for _ in range(50):
        if await requested():
            break
        await asyncio.sleep(0.05)
    import datetime as dt
    expected = "asleep" if dt.datetime.now().time() < dt.time(23, 59) else "awake"
    if expected == "asleep":
        assert await requested() == "asleep"
        status, body = await w.claim()
        assert status == 423 and body["status_requested"] == "asleep"


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


async def test_output_produced_becomes_last_rendered_thumbnails(manager, workers):
    a, b = await workers(), await workers()
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    _, task = await a.claim()
    path = f"/api/v3/worker/task/{task['uuid']}/output-produced"
    async with a.session.post(path, data=b"not an image", headers={**a.auth_header, "Content-Type": "image/png"}) as r:
        assert r.status == 415
    async with b.session.post(path, data=_png_bytes(), headers={**b.auth_header, "Content-Type": "image/png"}) as r:
        assert r.status == 409  # not b's task
    async with a.session.post(path, data=_png_bytes(), headers={**a.auth_header, "Content-Type": "image/png"}) as r:
        assert r.status == 202
    for _ in range(50):
        status, info = await manager.request("GET", f"/api/v3/jobs/{job['id']}/last-rendered")
        if status == 200:
            break
        await asyncio.sleep(0.05)
    assert status == 200 and "last-rendered-small.jpg" in info["suffixes"]
    async with manager.session.get(f"{info['base']}/last-rendered-tiny.jpg") as resp:
        assert resp.status == 200 and (await resp.read())[:2] == b"\xff\xd8"
    status, info = await manager.request("GET", "/api/v3/jobs/last-rendered")
    assert status == 200 and job["id"] in info["base"]


async def test_another_program_holding_the_database_lock_does_not_stall_the_manager(manager, workers, tmp_path,
                                                                                    store_kind):
    import sqlite3

    if store_kind != "sqlite":
        pytest.skip("SQLite's file lock")

    w = await workers()
    await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
    store = manager.services.store
    other = sqlite3.connect(tmp_path / "manager.sqlite", isolation_level=None, timeout=0)
    other.execute("BEGIN IMMEDIATE")  # SQLite's write lock, as a backup tool or the sqlite3 CLI may take it
    try:
        claim = asyncio.create_task(w.claim())
        async with asyncio.timeout(10):
            while not store._lock.locked():  # the claim now waits for the lock on the store thread
                await asyncio.sleep(0.01)
            status, version = await manager.request("GET", "/api/v3/version")  # the loop still serves
        assert status == 200 and version["name"] and not claim.done()
    finally:
        other.execute("ROLLBACK")
        other.close()
    status, task = await asyncio.wait_for(claim, 30)
    assert status == 200 and task["name"] == "echo"  # nothing lost: the claim went through afterwards


def _sleeps_deps_left(job_uuid: str) -> list[int]:
    from app.manager.persistence.models import Job, Task

    return [t.deps_left for t in Task.select(Task.deps_left).join(Job, on=(Task.job == Job.id))
            .where((Job.uuid == job_uuid) & (Task.name == "sleep"))]


async def test_a_completion_counts_its_dependents_down_once_and_only_from_its_worker(manager, workers):
    """On PostgreSQL a completion's first read also counts the dependents down when the task is the
    worker's active one: a report from another worker, or a second report, must change no count."""
    a, b = await workers(), await workers()
    store = manager.services.store
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    _, echo = await a.claim()
    assert echo["name"] == "echo"
    assert (await b.complete(echo["uuid"]))[0] == 409  # not b's task
    assert await store.call(_sleeps_deps_left, job["id"]) == [1, 1]
    status, _ = await a.update(echo["uuid"], taskStatus="completed", activity="Completed", steps_completed=1)
    assert status == 204
    assert await store.call(_sleeps_deps_left, job["id"]) == [0, 0]
    assert (await a.complete(echo["uuid"]))[0] == 409  # no longer active
    assert await store.call(_sleeps_deps_left, job["id"]) == [0, 0]
    (_, first), (_, second) = await a.claim(), await b.claim()
    assert first["name"] == second["name"] == "sleep"
    assert (await a.complete(first["uuid"]))[0] == 204
    assert (await _job(manager, job["id"]))["status"] == "active"  # a sleep is still running
    assert (await b.complete(second["uuid"]))[0] == 204
    assert (await _job(manager, job["id"]))["status"] == "completed"
