"""The event stream carries what a dashboard shows, so no client fetches a job or worker per event.

A job's events say its activity, creation time and worker tag; its first event also its metadata
(the submitter) and settings; a task's progress that moves the job's also moves the job's event;
a job canceled under a busy worker says so for that worker's task; a new sleep schedule is a change
of the worker. Each is checked against what the API then returns.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from tests.conftest import echo_job
from tests.http_worker import HttpWorker


@pytest.fixture
async def events(manager):
    """`next_event(topic, where)`: the next event of that topic whose data passes `where`."""
    async with (aiohttp.ClientSession() as session,
                session.ws_connect(f"{manager.url}/api/v3/tablao/events") as ws):
        assert (await ws.receive_json(timeout=5))["type"] == "manager_did_start"

        async def next_event(topic: str, where=lambda d: True, timeout: float = 5.0) -> dict:
            async with asyncio.timeout(timeout):
                while True:
                    msg = await ws.receive_json()
                    if msg["type"] == topic and where(msg["data"]):
                        return msg["data"]

        yield next_event


@pytest.fixture
async def worker(manager):
    w = await HttpWorker(manager.url, "render-01").register_and_sign_on()
    yield w
    await w.close()


async def test_a_new_jobs_first_event_carries_its_submitter_settings_creation_and_activity(manager, events):
    body = echo_job(repeats=1, metadata={"user.name": "alice", "user.host": "studio-pc"})
    _, job = await manager.request("POST", "/api/v3/jobs", json=body)
    first = await events("job_did_change", lambda d: d["id"] == job["id"])
    _, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert first["metadata"] == stored["metadata"] == {"user.name": "alice", "user.host": "studio-pc"}
    assert first["settings"] == stored["settings"]
    assert first["created"] == stored["created"] and first["activity"] == stored["activity"]
    assert first["submitter_platform"] == "linux" and first["worker_tag"] == ""

    # Later events carry what changes, not the settings again.
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus", admin=True,
                          json={"status": "pause-requested", "reason": "lunch"})
    later = await events("job_did_change", lambda d: d["id"] == job["id"] and d["status"] == "paused")
    _, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert later["activity"] == stored["activity"] != first["activity"]
    assert later["created"] == stored["created"] and "settings" not in later and "metadata" not in later


async def test_a_jobs_tag_change_says_the_tag_and_its_removal(manager, events):
    _, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", admin=True, json={"name": "gpu"})
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/settag", admin=True, json={"id": tag["id"]})
    tagged = await events("job_did_change", lambda d: d["id"] == job["id"] and d.get("worker_tag"))
    assert tagged["worker_tag"] == tag["id"]
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/settag", admin=True, json={})
    untagged = await events("job_did_change", lambda d: d["id"] == job["id"] and d.get("worker_tag") == "")
    _, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert untagged["updated"] == stored["updated"] and stored.get("worker_tag") is None


async def test_a_finished_task_that_moves_the_jobs_progress_sends_the_job_too(manager, events, worker):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    _, task = await worker.claim()
    await events("job_did_change", lambda d: d["id"] == job["id"] and d["status"] == "active")
    await worker.complete(task["uuid"])  # the job stays active: two more tasks to go
    moved = await events("job_did_change", lambda d: d["id"] == job["id"] and d["steps_completed"] == 1)
    _, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert (moved["status"], moved["steps_completed"], moved["updated"]) == \
        (stored["status"], stored["steps_completed"], stored["updated"]) == ("active", 1, stored["updated"])


async def test_progress_reported_by_a_worker_gives_the_jobs_event_its_new_time(manager, events, worker):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
    _, task = await worker.claim()
    await events("job_did_change", lambda d: d["id"] == job["id"] and d["status"] == "active")
    await worker.update(task["uuid"], steps_completed=1)
    moved = await events("job_did_change", lambda d: d["id"] == job["id"] and d["steps_completed"] == 1)
    _, stored = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert moved["updated"] == stored["updated"]


async def test_canceling_a_job_says_so_for_the_task_a_worker_was_running(manager, events, worker):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=2))
    _, task = await worker.claim()
    await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus", admin=True,
                          json={"status": "cancel-requested", "reason": "wrong camera"})
    ended = await events("task_did_change", lambda d: d["id"] == task["uuid"] and d["status"] == "canceled")
    assert ended["worker"]["uuid"] == worker.uuid and ended["previous_status"] == "active"
    # The event told the worker's followers; the worker itself no longer runs a task.
    _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{worker.uuid}", admin=True)
    assert "task" not in shown, shown


async def test_a_new_sleep_schedule_is_a_change_of_the_worker(manager, events, worker):
    await events("worker_did_change", lambda d: d["id"] == worker.uuid and d["status"] == "awake")
    # Not active: the sleep scheduler leaves the worker alone, whatever the time of the test.
    await manager.request("POST", f"/api/v3/worker-mgt/workers/{worker.uuid}/sleep-schedule", admin=True,
                          json={"is_active": False, "days_of_week": "mo", "start_time": "22:00",
                                "end_time": "06:00"})
    changed = await events("worker_did_change", lambda d: d["id"] == worker.uuid)
    assert changed["status"] == "awake" and "previous_status" not in changed
