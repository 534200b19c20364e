"""Jobs that wait for jobs (`depends_on`), driven over real HTTP against a real Manager.

A chain runs in order and says what it waits for; a failed or canceled dependency leaves its
dependants waiting or failed, as each chose; bad ids are a 400 in words; the waiting survives a
restart; a deleted dependency fails its dependants instead of leaving them waiting for ever.
"""

from __future__ import annotations

import asyncio

import pytest

from app.manager.persistence import scheduler_queries
from tests.conftest import echo_job
from tests.http_worker import HttpWorker

V = "/api/v3"


def _job(name: str, after: list[str] | None = None, **extra) -> dict:
    """A one-task echo job; `after`: the ids it waits for."""
    job = echo_job(repeats=0, name=name, **extra)
    if after is not None:
        job["depends_on"] = after
    return job


async def _submit(manager, name: str, after: list[str] | None = None, **extra) -> dict:
    status, job = await manager.request("POST", f"{V}/jobs", json=_job(name, after, **extra))
    assert status == 200, job
    return job


async def _fetch(manager, job_id: str) -> dict:
    status, job = await manager.request("GET", f"{V}/jobs/{job_id}")
    assert status == 200, job
    return job


async def _chain(manager, job_id: str) -> dict:
    status, chain = await manager.request("GET", f"{V}/tablao/jobs/{job_id}/chain")
    assert status == 200, chain
    return chain


async def _run_one(worker: HttpWorker) -> dict:
    status, task = await worker.claim()
    assert status == 200, task
    assert (await worker.complete(task["uuid"]))[0] == 204
    return task


@pytest.fixture
async def worker(manager):
    w = await HttpWorker(manager.url, name="chain-worker").register_and_sign_on()
    yield w
    await w.close()


async def test_a_chain_runs_in_order_and_says_what_it_waits_for(manager, worker):
    a = await _submit(manager, "render A")
    b = await _submit(manager, "encode B", after=[a["id"]])
    c = await _submit(manager, "upload C", after=[b["id"]])
    assert b["status"] == "queued" and b["waiting_on"] == 1
    assert b["activity"] == "Waiting for 'render A'"
    assert "waiting_on" not in a

    status, task = await worker.claim()
    assert status == 200 and task["job"] == a["id"]
    # While A runs, B waits, with the words, and no worker gets its task.
    b_now = await _fetch(manager, b["id"])
    assert (b_now["status"], b_now["activity"], b_now["waiting_on"]) == ("queued", "Waiting for 'render A'", 1)
    other = await HttpWorker(manager.url, name="idle").register_and_sign_on()
    try:
        assert (await other.claim())[0] == 204
        # A waiting worker is woken when A completes and B's task becomes runnable.
        held = asyncio.create_task(other.claim(wait=10))
        await asyncio.sleep(0.3)
        assert not held.done()
        assert (await worker.complete(task["uuid"]))[0] == 204
        status, b_task = await asyncio.wait_for(held, 5)
        assert status == 200 and b_task["job"] == b["id"]
        assert "waiting_on" not in await _fetch(manager, b["id"])
        assert (await _fetch(manager, c["id"]))["activity"] == "Waiting for 'encode B'"
        assert (await worker.claim())[0] == 204  # C still waits for B
        assert (await other.complete(b_task["uuid"]))[0] == 204
    finally:
        await other.close()
    assert (await _run_one(worker))["job"] == c["id"]
    for job in (a, b, c):
        assert (await _fetch(manager, job["id"]))["status"] == "completed"

    chain = await _chain(manager, b["id"])
    assert [link["id"] for link in chain["depends_on"]] == [a["id"]]
    assert [link["id"] for link in chain["dependants"]] == [c["id"]]
    assert (chain["waiting"], chain["waiting_on"], chain["on_dependency_failure"]) == ("", 0, "wait")


async def test_the_claim_query_never_scans_a_waiting_jobs_tasks(manager, worker):
    """A waiting job's tasks are outside the runnable index: the claim stays one query, finding nothing."""
    a = await _submit(manager, "render A", initial_status="paused")
    status, big = await manager.request("POST", f"{V}/jobs", json=echo_job(repeats=200, depends_on=[a["id"]]))
    assert status == 200

    def in_the_index(job_uuid: str) -> int:
        """How many of the job's tasks the partial index `tasks_runnable` holds."""
        from app.manager.persistence.models import Job, Task

        return Task.select().join(Job).where(
            (Job.uuid == job_uuid) & Task.status.in_(["queued", "soft-failed"]) & (Task.deps_left == 0)).count()

    assert await manager.services.store.call(in_the_index, big["id"]) == 0
    before = scheduler_queries.QUERIES["claim"]
    assert (await worker.claim())[0] == 204
    assert scheduler_queries.QUERIES["claim"] - before == 1


@pytest.mark.parametrize("how", ["failed", "canceled"])
async def test_a_broken_dependency_leaves_dependants_waiting_or_failed_by_their_choice(manager_factory, how):
    manager = await manager_factory(task_fail_after_softfail_count=1)
    worker = await HttpWorker(manager.url, name="w").register_and_sign_on()
    try:
        a = await _submit(manager, "render A")
        waits = await _submit(manager, "encode waits", after=[a["id"]])
        fails = await _submit(manager, "encode fails", after=[a["id"]], on_dependency_failure="fail")
        after_fails = await _submit(manager, "upload", after=[fails["id"]], on_dependency_failure="fail")
        status, task = await worker.claim()
        assert task["job"] == a["id"]
        if how == "failed":
            assert (await worker.fail(task["uuid"]))[0] == 204
        else:
            change = {"status": "cancel-requested", "reason": "test"}
            assert (await manager.request("POST", f"{V}/jobs/{a['id']}/setstatus", json=change))[0] == 204
        assert (await _fetch(manager, a["id"]))["status"] == how

        waiting = await _fetch(manager, waits["id"])
        assert waiting["status"] == "queued" and waiting["waiting_on"] == 1
        assert waiting["activity"] == f"Waiting for 'render A' ({how}: requeue it, or cancel this job)"
        failed = await _fetch(manager, fails["id"])
        assert failed["status"] == "failed"
        assert f"job 'render A', which it waits for, {how}" in failed["activity"]
        # The failure runs down the chain.
        assert (await _fetch(manager, after_fails["id"]))["status"] == "failed"
        assert (await worker.claim())[0] == 204
        # A job submitted after A broke does the same, at once.
        late_fails = await _submit(manager, "late", after=[a["id"]], on_dependency_failure="fail")
        assert late_fails["status"] == "failed"
        assert late_fails["activity"].endswith(f"job 'render A', which it waits for, is {how}")
        late_waits = await _submit(manager, "late too", after=[a["id"]])
        assert (late_waits["status"], late_waits["waiting_on"]) == ("queued", 1)
        assert late_waits["activity"] == waiting["activity"]

        # Requeueing A lets the waiting dependant go on once A completes.
        change = {"status": "requeueing", "reason": "fixed it"}
        assert (await manager.request("POST", f"{V}/jobs/{a['id']}/setstatus", json=change))[0] == 204
        assert (await _run_one(worker))["job"] == a["id"]
        ran = {(await _run_one(worker))["job"], (await _run_one(worker))["job"]}
        assert ran == {waits["id"], late_waits["id"]}
        assert (await worker.claim())[0] == 204  # the failed ones stay failed
    finally:
        await worker.close()


async def test_unknown_ids_are_a_400_in_words(manager):
    a = await _submit(manager, "render A")
    unknown = "7c0a5e58-0000-4000-8000-000000000000"
    for path in ("/jobs", "/jobs/check"):
        status, body = await manager.request("POST", f"{V}{path}", json=_job("B", after=[a["id"], unknown]))
        assert status == 400, body
        assert body["message"].startswith("`depends_on` names 1 job this Manager does not have: "
                                          f"'{unknown}'")
    status, body = await manager.request("POST", f"{V}/jobs", json=_job("B", after=["x" * 256]))
    assert status == 400 and "`depends_on[0]`" in body["message"]
    status, body = await manager.request("POST", f"{V}/jobs", json=_job("B", after=[a["id"]] * 101))
    assert status == 400 and "at most 100 items" in body["message"]
    status, body = await manager.request("POST", f"{V}/jobs", json=_job("B", after=[a["id"]],
                                                                        on_dependency_failure="later"))
    assert status == 400 and "on_dependency_failure" in body["message"]
    status, body = await manager.request("POST", f"{V}/jobs", json=_job("B", after=[None]))
    assert status == 400 and "depends_on" in body["message"]
    _, jobs = await manager.request("GET", f"{V}/jobs")
    assert [j["name"] for j in jobs["jobs"]] == ["render A"]  # nothing refused was stored


async def test_a_job_listed_twice_counts_once(manager, worker):
    a = await _submit(manager, "render A")
    b = await _submit(manager, "encode B", after=[a["id"], a["id"]])
    assert b["waiting_on"] == 1
    assert [link["id"] for link in (await _chain(manager, b["id"]))["depends_on"]] == [a["id"]]
    assert (await _run_one(worker))["job"] == a["id"]
    assert (await _run_one(worker))["job"] == b["id"]


async def test_a_completed_dependency_does_not_hold_a_job_back(manager, worker):
    a = await _submit(manager, "render A")
    await _run_one(worker)
    b = await _submit(manager, "encode B", after=[a["id"]])
    assert "waiting_on" not in b and b["activity"] == ""
    assert (await _run_one(worker))["job"] == b["id"]


async def test_a_cycle_is_a_400_in_words(manager):
    a = await _submit(manager, "render A")
    b = await _submit(manager, "encode B", after=[a["id"]])
    c = await _submit(manager, "upload C", after=[b["id"]])
    status, body = await manager.request("PUT", f"{V}/tablao/jobs/{a['id']}/depends-on", json={"depends_on": [c["id"]]})
    assert status == 400, body
    assert body["message"] == ("`depends_on` would make a cycle: 'render A' would wait for 'upload C', which waits "
                               "for 'encode B', which waits for 'render A'; a job cannot wait for itself")
    status, body = await manager.request("PUT", f"{V}/tablao/jobs/{a['id']}/depends-on", json={"depends_on": [a["id"]]})
    assert status == 400 and body["message"].startswith("a job cannot wait for itself")
    # Nothing changed.
    assert (await _chain(manager, a["id"]))["depends_on"] == []
    assert (await _fetch(manager, a["id"])).get("waiting_on") is None
    # A submission cannot make one: its dependencies exist before it, and its own id is made then.
    status, body = await manager.request("POST", f"{V}/jobs", json={**_job("D", after=[a["id"]]), "id": a["id"]})
    assert status == 200 and body["id"] != a["id"]


async def test_what_a_job_waits_for_can_change(manager, worker):
    a = await _submit(manager, "render A", initial_status="paused")
    b = await _submit(manager, "encode B")
    path = f"{V}/tablao/jobs/{b['id']}/depends-on"
    assert (await manager.request("PUT", path, json={"depends_on": [a["id"]], "on_dependency_failure": "fail"}))[0] == 204
    job = await _fetch(manager, b["id"])
    assert (job["waiting_on"], job["activity"]) == (1, "Waiting for 'render A'")
    assert (await _chain(manager, b["id"]))["on_dependency_failure"] == "fail"
    assert (await worker.claim())[0] == 204
    assert (await manager.request("PUT", path, json={"depends_on": []}))[0] == 204
    assert (await _fetch(manager, b["id"]))["activity"] == "Waits for no other job"
    assert (await _run_one(worker))["job"] == b["id"]


@pytest.mark.parametrize(("body", "words"), [
    ({}, "`depends_on`"),
    ({"depends_on": "abc"}, "`depends_on` must be a list"),
    ({"depends_on": ["x"] * 101}, "at most 100 items"),
    ({"depends_on": [], "on_dependency_failure": "explode"}, "`on_dependency_failure`"),
    ({"depends_on": ["\u0000"]}, "NUL"),
])
async def test_changing_what_a_job_waits_for_refuses_bad_bodies(manager, body, words):
    a = await _submit(manager, "render A")
    status, answer = await manager.request("PUT", f"{V}/tablao/jobs/{a['id']}/depends-on", json=body)
    assert status == 400 and words in answer["message"], answer
    unknown = "7c0a5e58-0000-4000-8000-000000000000"
    status, _ = await manager.request("PUT", f"{V}/tablao/jobs/{unknown}/depends-on", json={"depends_on": []})
    assert status == 404


async def test_waiting_survives_a_manager_restart(manager_factory):
    first = await manager_factory()
    a = await _submit(first, "render A")
    b = await _submit(first, "encode B", after=[a["id"]])
    await first.stop()

    second = await manager_factory()
    worker = await HttpWorker(second.url, name="after-restart").register_and_sign_on()
    try:
        job = await _fetch(second, b["id"])
        assert (job["status"], job["waiting_on"], job["activity"]) == ("queued", 1, "Waiting for 'render A'")
        assert (await _run_one(worker))["job"] == a["id"]
        assert (await _run_one(worker))["job"] == b["id"]
    finally:
        await worker.close()


async def test_deleting_a_dependency_fails_its_waiting_dependants(manager, worker):
    a = await _submit(manager, "render A", initial_status="paused")
    b = await _submit(manager, "encode B", after=[a["id"]])
    done = await _submit(manager, "done first")
    assert (await _run_one(worker))["job"] == done["id"]
    later = await _submit(manager, "old news", after=[done["id"]])
    assert (await manager.request("DELETE", f"{V}/jobs/{a['id']}", admin=True))[0] == 204
    failed = await _fetch(manager, b["id"])
    assert failed["status"] == "failed"
    assert "job 'render A', which it waited for, was deleted" in failed["activity"]
    assert "waiting_on" not in failed
    # A completed dependency's deletion changes nothing for the job that waited for it.
    assert (await manager.request("DELETE", f"{V}/jobs/{done['id']}", admin=True))[0] == 204
    assert (await _fetch(manager, later["id"]))["status"] == "queued"
    # Requeued, the failed one runs without the deleted job.
    change = {"status": "requeueing", "reason": "go on without A"}
    assert (await manager.request("POST", f"{V}/jobs/{b['id']}/setstatus", json=change))[0] == 204
    ran = {(await _run_one(worker))["job"], (await _run_one(worker))["job"]}
    assert ran == {b["id"], later["id"]}


async def test_a_job_being_deleted_cannot_be_waited_for(manager):
    a = await _submit(manager, "render A")
    assert (await manager.request("DELETE", f"{V}/jobs/{a['id']}", admin=True))[0] == 204
    status, body = await manager.request("POST", f"{V}/jobs", json=_job("B", after=[a["id"]]))
    assert status == 400, body
    # Still being deleted, or already gone: either way, said so.
    assert "being deleted and will never complete" in body["message"] or "does not have" in body["message"]


async def test_a_requeued_dependency_holds_its_dependants_again(manager, worker):
    """Task dependencies inside a waiting job and the job's own wait add up, also through a requeue."""
    a = await _submit(manager, "render A")
    status, b = await manager.request("POST", f"{V}/jobs", json=echo_job(repeats=2, name="encode B",
                                                                          depends_on=[a["id"]]))
    assert status == 200
    assert (await _run_one(worker))["job"] == a["id"]
    ran = [(await _run_one(worker))["name"] for _ in range(3)]
    assert ran == ["echo", "sleep", "sleep"]  # B's own order still holds
    assert (await _fetch(manager, b["id"]))["status"] == "completed"

    # A is requeued: B, completed, stays so; requeued too, it waits for A again, echo and sleeps alike.
    for job in (a, b):
        change = {"status": "requeueing", "reason": "again"}
        assert (await manager.request("POST", f"{V}/jobs/{job['id']}/setstatus", json=change))[0] == 204
    b_now = await _fetch(manager, b["id"])
    assert (b_now["status"], b_now["waiting_on"], b_now["activity"]) == ("queued", 1, "Waiting for 'render A'")
    assert (await _run_one(worker))["job"] == a["id"]
    assert [(await _run_one(worker))["name"] for _ in range(3)] == ["echo", "sleep", "sleep"]
    assert (await worker.claim())[0] == 204


async def test_a_long_cycle_is_found_and_told_short(manager):
    ids = [(await _submit(manager, "job 0"))["id"]]
    for n in range(1, 30):
        ids.append((await _submit(manager, f"job {n}", after=[ids[-1]]))["id"])
    status, body = await manager.request("PUT", f"{V}/tablao/jobs/{ids[0]}/depends-on", json={"depends_on": [ids[-1]]})
    assert status == 400, body
    assert body["message"] == ("`depends_on` would make a cycle: 'job 0' would wait for 'job 29', which waits for "
                               "'job 28', which waits for 'job 27', which waits for 25 more jobs, which waits for "
                               "'job 1', which waits for 'job 0'; a job cannot wait for itself")
    # Waiting for a job in the middle of the chain from its start is no cycle.
    assert (await manager.request("PUT", f"{V}/tablao/jobs/{ids[29]}/depends-on",
                                  json={"depends_on": [ids[28], ids[3]]}))[0] == 204
