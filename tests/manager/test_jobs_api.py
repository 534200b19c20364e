"""Job submission, queries and bad input, against a real Manager over HTTP with a real SQLite store."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.conftest import echo_job


async def _job_count(manager) -> int:
    status, body = await manager.request("GET", "/api/v3/jobs")
    assert status == 200
    return len(body["jobs"])


async def _task_count(manager) -> int:
    from app.manager.persistence.models import Task

    return await manager.services.store.call(lambda: Task.select().count())


async def test_submit_echo_job_stores_job_and_tasks(manager):
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=3))
    assert status == 200, job
    assert job["status"] == "queued" and job["type"] == "echo-sleep-test"
    assert job["steps_total"] == 4
    status, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert status == 200 and fetched["id"] == job["id"] and fetched["settings"]["message"] == "hello"
    status, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    names = [t["name"] for t in body["tasks"]]
    assert names == ["echo", "sleep", "sleep", "sleep"]
    assert [t["index_in_job"] for t in body["tasks"]] == [1, 2, 3, 4]
    status, task = await manager.request("GET", f"/api/v3/tasks/{body['tasks'][0]['id']}")
    assert status == 200 and task["commands"][0]["name"] == "echo" and task["job_id"] == job["id"]


async def test_a_jobs_task_list_says_what_each_task_is_doing(manager):
    from tests.http_worker import HttpWorker

    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        _, assigned = await worker.claim()
        status, _ = await worker.update(assigned["uuid"], taskStatus="active", activity="Rendering frame 7")
        assert status == 204
    finally:
        await worker.close()
    _, body = await manager.request("GET", f"/api/v3/jobs/{job['id']}/tasks")
    activities = {t["id"]: t.get("activity") for t in body["tasks"]}
    assert activities[assigned["uuid"]] == "Rendering frame 7"  # no call per task to show it
    _, task = await manager.request("GET", f"/api/v3/tasks/{assigned['uuid']}")
    assert task["activity"] == "Rendering frame 7"


async def test_defaults_are_filled_in(manager):
    status, job = await manager.request("POST", "/api/v3/jobs", json={
        "name": "defaults", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
        "settings": {"message": "hi"}})
    assert status == 200, job
    assert job["settings"]["sleep_repeats"] == 1 and job["settings"]["sleep_duration_seconds"] == 1


async def test_submit_as_paused(manager):
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(initial_status="paused"))
    assert status == 200 and job["status"] == "paused"


async def test_job_check_compiles_without_storing(manager):
    status, _ = await manager.request("POST", "/api/v3/jobs/check", json=echo_job())
    assert status == 204
    assert await _job_count(manager) == 0


async def test_paged_job_listing(manager):
    for i in range(5):
        status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(message=f"m{i}"))
        assert status == 200
    status, body = await manager.request("GET", "/api/v3/tablao/jobs?limit=2&offset=1")
    assert status == 200 and body["total"] == 5 and len(body["jobs"]) == 2


# --- bad input: each gets a 4xx a user can act on, and nothing half-written stays ------------------
async def _assert_rejected(manager, status_expected: int, fragment: str, **kwargs):
    jobs_before, tasks_before = await _job_count(manager), await _task_count(manager)
    status, body = await manager.request("POST", "/api/v3/jobs", **kwargs)
    assert status == status_expected, body
    assert body["code"] == status_expected
    assert fragment.lower() in body["message"].lower(), body["message"]
    assert await _job_count(manager) == jobs_before
    assert await _task_count(manager) == tasks_before


async def test_malformed_json(manager):
    await _assert_rejected(manager, 400, "not valid JSON", data=b'{"name": "x",',
                           headers={"Content-Type": "application/json"})


async def test_unknown_job_type(manager):
    await _assert_rejected(manager, 400, "no-such-type", json=echo_job(type="no-such-type"))


async def test_missing_required_setting(manager):
    job = echo_job()
    del job["settings"]["message"]
    await _assert_rejected(manager, 400, "message", json=job)


async def test_wrong_setting_type(manager):
    job = echo_job()
    job["settings"]["sleep_repeats"] = "three"
    await _assert_rejected(manager, 400, "sleep_repeats", json=job)


async def test_missing_name(manager):
    job = echo_job()
    del job["name"]
    await _assert_rejected(manager, 400, "name", json=job)


@pytest.mark.parametrize("initial", [None, "", "active", "completed"])
async def test_initial_status_is_queued_or_paused(manager, initial):
    # Absent is queued; anything given must be one of the two the document lists.
    await _assert_rejected(manager, 400, "`initial_status` must be one of queued, paused",
                           json={**echo_job(), "initial_status": initial})


async def test_stale_etag(manager):
    await _assert_rejected(manager, 412, "refresh", json=echo_job(type_etag="0" * 40))


async def test_current_etag_accepted(manager):
    _, jt = await manager.request("GET", "/api/v3/jobs/type/echo-sleep-test")
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(type_etag=jt["etag"]))
    assert status == 200, job


def _write_script(manager, name: str, body: str) -> None:
    scripts = manager.cfg.scripts_dir
    scripts.mkdir(exist_ok=True)
    (scripts / f"{name}.js").write_text(body)


_SETTINGS = 'const JOB_TYPE = {label: "X", settings: [{key: "n", type: "int32", default: 1}]};\n'


async def test_script_that_throws(manager):
    _write_script(manager, "throws", _SETTINGS + 'function compileJob(job) { throw "frames out of range: 5"; }')
    job = {"name": "t", "type": "throws", "priority": 50, "submitter_platform": "linux", "settings": {}}
    await _assert_rejected(manager, 400, "frames out of range: 5", json=job)


async def test_custom_job_type_picked_up_without_restart(manager):
    _write_script(manager, "custom_one", _SETTINGS + """
function compileJob(job) {
  for (let i = 0; i < job.settings.n; i++) {
    const t = author.Task(`step-${i}`, "misc");
    t.addCommand(author.Command("echo", {message: `step ${i}`}));
    job.addTask(t);
  }
}""")
    status, jt = await manager.request("GET", "/api/v3/jobs/type/custom-one")
    assert status == 200, jt
    status, job = await manager.request("POST", "/api/v3/jobs", json={
        "name": "c", "type": "custom-one", "priority": 50, "submitter_platform": "linux", "settings": {"n": 3}})
    assert status == 200, job
    assert job["steps_total"] == 3


@pytest.mark.slow  # waits out the compiler's time limit
async def test_script_that_never_ends_is_stopped_and_manager_keeps_serving(manager):
    _write_script(manager, "forever", _SETTINGS + "function compileJob(job) { while (true) {} }")
    job = {"name": "t", "type": "forever", "priority": 50, "submitter_platform": "linux", "settings": {}}
    start = time.monotonic()
    submit = asyncio.create_task(manager.request("POST", "/api/v3/jobs", json=job))
    await asyncio.sleep(0.5)
    # While the script spins, the Manager still answers.
    status, _ = await manager.request("GET", "/api/v3/version")
    assert status == 200
    status, body = await submit
    assert status == 400 and ("too long" in body["message"] or "time" in body["message"]), body
    assert time.monotonic() - start < 8
    assert await _job_count(manager) == 0
    status, ok_job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200, ok_job


async def test_unknown_job_id_is_404(manager):
    for path in ("/api/v3/jobs/4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa",
                 "/api/v3/jobs/4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa/tasks",
                 "/api/v3/tasks/4b3f1d86-2c0c-4c47-9d4c-8f3bb0a3f0aa"):
        status, body = await manager.request("GET", path)
        assert status == 404 and "does not exist" in body["message"], (path, body)


async def test_invalid_status_change_is_422_and_changes_nothing(manager):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                         json={"status": "completed", "reason": "because"})
    assert status == 422 and "completed" in body["message"]
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                         json={"status": "requeueing", "reason": "x"})
    assert status == 422 and "queued" in body["message"]
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setstatus",
                                         json={"status": "bogus", "reason": "x"})
    assert status == 400
    _, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert fetched["status"] == "queued"


async def test_priority_change_and_range(manager):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, _ = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 90})
    assert status == 204
    _, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert fetched["priority"] == 90
    status, body = await manager.request("POST", f"/api/v3/jobs/{job['id']}/setpriority", json={"priority": 900})
    # A body outside the document is a 400, as Flamenco's request validator answers it.
    assert status == 400 and body["message"] == "`priority` must be a whole number from 0 to 100, not 900"


async def test_delete_job_removes_it_and_its_tasks(manager):
    _, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, _ = await manager.request("DELETE", f"/api/v3/jobs/{job['id']}", admin=True)
    assert status == 204
    for _ in range(50):
        status, _ = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
        if status == 404:
            break
        await asyncio.sleep(0.05)
    assert status == 404
    assert await _task_count(manager) == 0


async def test_mass_delete(manager):
    for _ in range(3):
        await manager.request("POST", "/api/v3/jobs", json=echo_job())
    status, body = await manager.request("DELETE", "/api/v3/jobs/mass-delete",
                                         json={"last_updated_max": "2000-01-01T00:00:00Z"}, admin=True)
    assert status == 416
    status, _ = await manager.request("DELETE", "/api/v3/jobs/mass-delete",
                                      json={"last_updated_max": "2999-01-01T00:00:00Z"}, admin=True)
    assert status == 204
    for _ in range(50):
        if await _job_count(manager) == 0:
            break
        await asyncio.sleep(0.05)
    assert await _job_count(manager) == 0


async def test_restart_keeps_every_job_and_task(manager_factory):
    first = await manager_factory()
    ids = []
    for i in range(3):
        status, job = await first.request("POST", "/api/v3/jobs", json=echo_job(message=f"m{i}", repeats=4))
        assert status == 200
        ids.append(job["id"])
    _, tasks_before = await first.request("GET", f"/api/v3/jobs/{ids[1]}/tasks")
    await first.stop()
    second = await manager_factory()
    _, body = await second.request("GET", "/api/v3/jobs")
    assert sorted(j["id"] for j in body["jobs"]) == sorted(ids)
    _, tasks_after = await second.request("GET", f"/api/v3/jobs/{ids[1]}/tasks")
    assert tasks_after == tasks_before
