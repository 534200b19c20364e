"""The farm's ETA on a real Manager, with simulated workers over HTTP whose tasks take a set time per
step: close to the real end for a uniform job, there before any task finished when the same .blend
file has history, slower for a slow worker; the render statistics a worker sends are stored, survive
a restart, and bad ones are refused in words.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from app.manager.jobs.job_eta import ANSWER_TTL_S
from app.manager.persistence.models import TaskRun
from tests.conftest import echo_job
from tests.e2e.farm import blender_job
from tests.manager.contract import ResponseChecker
from tests.sim_workers import ETAS, SimWorker, run_job, submit, workers_of


@pytest.mark.slow
async def test_the_eta_after_10_of_40_uniform_tasks_is_within_a_quarter_of_the_real_end(manager):
    job_id = await submit(manager, echo_job(repeats=39))  # an echo, then 39 sleeps: 40 tasks of one step
    https = await workers_of(manager, "sim-1", "sim-2")
    try:
        answer, asked_at, ended_at = await run_job(manager, job_id, [SimWorker(h, 0.25) for h in https],
                                                   until_done=10)
    finally:
        for h in https:
            await h.close()
    eta = answer["jobs"][job_id]
    assert eta["source"] == "job" and eta["basis"] >= 10
    assert {w["name"] for w in eta["workers"]} == {"sim-1", "sim-2"}
    assert eta["low"] <= eta["at"] <= eta["high"]
    took = ended_at - asked_at
    print(f"ETA {eta['seconds']:.2f} s after 10 of 40 tasks; the job took {took:.2f} s more")
    assert abs(eta["seconds"] - took) <= 0.25 * took


def render(shared, blend: str = "scene.blend", frames: str = "1-8") -> dict:
    """A render job of `blend`: 4 render tasks of 2 frames, then its preview video (one step)."""
    return blender_job(shared / blend, shared / "out" / blend, frames=frames, chunk_size=2)


async def test_a_new_job_of_a_file_with_history_has_an_eta_before_any_of_its_tasks_finished(manager, tmp_path):
    shared = tmp_path / "shared"
    https = await workers_of(manager, "sim-1")
    try:
        first = await submit(manager, render(shared))
        await run_job(manager, first, [SimWorker(https[0], 0.1)])
        again, other_file, echo = (await submit(manager, render(shared)),
                                   await submit(manager, render(shared, "other.blend")),
                                   await submit(manager, echo_job(repeats=3)))
        status, answer = await manager.request("GET", ETAS)
        assert status == 200, answer
        status, job = await manager.request("GET", f"/api/v3/jobs/{again}")
    finally:
        await https[0].close()
    eta = answer["jobs"][again]
    assert (eta["source"], eta["basis"]) == ("file", 5)
    # 4 render tasks of 2 frames at 0.1 s a frame, the video at 0.1 s, one worker: about 0.9 s.
    assert 0.6 < eta["seconds"] < 1.4
    assert [w["name"] for w in eta["workers"]] == ["sim-1"]
    assert job["eta"]["source"] == "file" and abs(job["eta"]["seconds"] - eta["seconds"]) < 0.5
    assert answer["jobs"][other_file]["source"] == "type"  # another file of the same job type
    assert echo not in answer["jobs"] and answer["reasons"][echo].startswith("no task of this job")
    assert first not in answer["jobs"] and first not in answer["reasons"]  # completed: not asked about
    _, spec = await manager.request("GET", "/api/v3/openapi3.json")
    checker = ResponseChecker(spec)
    for template, body in ((ETAS, answer), ("/api/v3/jobs/{job_id}", job)):
        assert checker.check("GET", template, 200, "application/json", json.dumps(body).encode()) == []


async def test_a_slow_worker_counts_as_slow(manager, tmp_path):
    shared = tmp_path / "shared"
    fast, slow = await workers_of(manager, "fast", "slow")
    try:
        for _ in range(2):  # both render the same file, the slow one at a third of the pace
            await run_job(manager, await submit(manager, render(shared)), [SimWorker(fast, 0.1),
                                                                         SimWorker(slow, 0.3)])
        job_id = await submit(manager, render(shared))
        _, both = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        status, _ = await fast.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"})
        assert status == 204
        _, slow_only = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        asked_at = time.monotonic()
        _, _, ended_at = await run_job(manager, job_id, [SimWorker(slow, 0.3)])
    finally:
        await fast.close()
        await slow.close()
    speeds = {w["name"]: w["speed"] for w in both["eta"]["workers"]}
    assert speeds["slow"] < 1 < speeds["fast"]
    # A task's time runs from hand-out to report, HTTP and all, which narrows the 3 of the steps.
    assert 1.6 < speeds["fast"] / speeds["slow"] < 4
    alone = slow_only["eta"]
    assert [w["name"] for w in alone["workers"]] == ["slow"]
    assert alone["seconds"] > 1.5 * both["eta"]["seconds"]
    took = ended_at - asked_at
    print(f"slow worker alone: ETA {alone['seconds']:.2f} s, took {took:.2f} s; both: {both['eta']['seconds']:.2f} s")
    assert abs(alone["seconds"] - took) <= 0.25 * took


async def test_render_statistics_are_stored_and_survive_a_restart(manager_factory, tmp_path):
    shared = tmp_path / "shared"
    manager = await manager_factory()
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        first = await submit(manager, render(shared))
        await run_job(manager, first, [SimWorker(http, 0.05, {"render_time_s": 12.5, "peak_memory_mb": 812.25})])
    finally:
        await http.close()
    await manager.stop()

    manager = await manager_factory()
    runs = await manager.services.store.call(lambda: list(
        TaskRun.select(TaskRun.render_time_s, TaskRun.peak_memory_mb, TaskRun.steps, TaskRun.blend_key)
        .where(TaskRun.job_uuid == first).tuples()))
    assert sorted(runs) == [(12.5, 812.25, 1, str(shared / "scene.blend"))] + [
        (12.5, 812.25, 2, str(shared / "scene.blend"))] * 4
    again = await submit(manager, render(shared))
    status, job = await manager.request("GET", f"/api/v3/jobs/{again}")
    assert status == 200 and job["eta"]["source"] == "file"  # the awake worker before the restart counts


@pytest.mark.parametrize(("field", "value", "words"), [
    ("render_time_s", -1, "`render_time_s` must be a number from 0 to 604,800, not -1.0"),
    ("render_time_s", "12", "`render_time_s` must be a number from 0 to 604,800, not a string"),
    ("render_time_s", 10**9, "`render_time_s` must be a number from 0 to 604,800, not 1000000000.0"),
    ("peak_memory_mb", True, "`peak_memory_mb` must be a number from 0 to 999,999, not a boolean"),
    ("peak_memory_mb", None, "`peak_memory_mb` must be a number from 0 to 999,999, not null"),
])
async def test_bad_render_statistics_are_a_400_and_leave_the_task_running(manager, field, value, words):
    job_id = await submit(manager, echo_job(repeats=1))
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        status, task = await http.claim()
        assert status == 200
        status, body = await http.update(task["uuid"], taskStatus="completed", **{field: value})
        assert (status, body["message"]) == (400, words)
        status, stored = await manager.request("GET", f"/api/v3/tasks/{task['uuid']}")
        assert stored["status"] == "active"
        # NaN is no JSON, but Python's reader takes it: refused as well.
        async with http.session.post(f"/api/v3/worker/task/{task['uuid']}", data='{"render_time_s": NaN}',
                                     headers={**http.auth_header, "Content-Type": "application/json"}) as resp:
            assert resp.status == 400 and "render_time_s" in (await resp.json())["message"]
        assert (await http.complete(task["uuid"]))[0] == 204
    finally:
        await http.close()
    status, job = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    assert job["steps_completed"] >= 1


async def test_a_burst_of_eta_requests_shares_one_reading_and_needs_the_access_token(manager_factory):
    manager = await manager_factory(access_token="s3cret")
    token = {"Authorization": "Bearer s3cret"}
    for _ in range(3):
        status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job(), headers=token)
        assert status == 200
    assert (await manager.request("GET", ETAS))[0] == 403
    etas = manager.services.etas
    before = etas.readings
    answers = await asyncio.gather(*(manager.request("GET", ETAS, headers=token, params={"x": "y" * 1000})
                                     for _ in range(40)))
    assert {status for status, _ in answers} == {200} and all(body == answers[0][1] for _, body in answers)
    assert len(answers[0][1]["reasons"]) == 3
    assert etas.readings - before == 1


async def test_a_tagged_job_counts_only_the_workers_with_its_tag(manager):
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        await run_job(manager, await submit(manager, echo_job(repeats=2)), [SimWorker(http, 0.1)])
        status, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"}, admin=True)
        assert status == 200, tag
        job_id = await submit(manager, echo_job(repeats=2))
        status, _ = await manager.request("POST", f"/api/v3/jobs/{job_id}/settag", json={"name": "gpu"})
        assert status == 204
        _, untagged = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{http.uuid}/settags",
                                          json={"tag_ids": [tag["id"]]}, admin=True)
        assert status == 204
        _, tagged = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    finally:
        await http.close()
    assert "eta" not in untagged  # the only awake worker lacks the tag: nobody would take its tasks
    assert [w["name"] for w in tagged["eta"]["workers"]] == ["sim-1"]


async def test_a_job_that_has_not_started_waits_for_the_jobs_ahead_of_it_on_the_same_workers(manager, tmp_path):
    shared = tmp_path / "shared"
    https = await workers_of(manager, "sim-1")
    try:
        first = await submit(manager, render(shared))
        await run_job(manager, first, [SimWorker(https[0], 0.1)])
        # Two jobs of the same file, neither started, one worker: the second goes after the first.
        older = await submit(manager, render(shared))
        newer = await submit(manager, render(shared))
        status, answer = await manager.request("GET", ETAS)
        assert status == 200, answer
        alone = answer["jobs"][older]["seconds"]
        assert 1.8 * alone <= answer["jobs"][newer]["seconds"] <= 2.2 * alone
        status, job = await manager.request("GET", f"/api/v3/jobs/{newer}")
        assert status == 200 and abs(job["eta"]["seconds"] - answer["jobs"][newer]["seconds"]) <= 0.2 * alone
        # A job of higher priority, submitted last, goes first: the two others now wait for it.
        urgent = await submit(manager, {**render(shared), "priority": 90})
        await asyncio.sleep(ANSWER_TTL_S + 0.1)  # the answer for all jobs is shared for that long
        status, answer = await manager.request("GET", ETAS)
        assert status == 200, answer
        etas = {job_id: answer["jobs"][job_id]["seconds"] for job_id in (urgent, older, newer)}
    finally:
        await https[0].close()
    assert abs(etas[urgent] - alone) <= 0.1 * alone
    assert 1.8 * alone <= etas[older] <= 2.2 * alone and 2.7 * alone <= etas[newer] <= 3.3 * alone
