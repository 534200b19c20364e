"""Scene requirements against a real Manager: checked on submission, matched in the claim, said in words.

Workers here are scripted over real HTTP (tests/http_worker.py) and say what they have in their
sign-on's `facts`; tests/e2e/test_requirements_farm.py runs the same against real worker processes.
"""

from __future__ import annotations

import pytest

from app.manager.persistence.scheduler_queries import QUERIES
from tests.conftest import echo_job
from tests.http_worker import HttpWorker

GIB = 1024**3
CPU_ONLY = {"gpu_backends": [], "memory_total": 16 * GIB, "blender_version": "3.4.1"}
RTX = {"gpu_backends": ["CUDA", "OPTIX"], "memory_total": 64 * GIB, "blender_version": "4.2.3"}
AMD = {"gpu_backends": ["HIP"], "memory_total": 32 * GIB, "blender_version": "4.2.0"}


async def _worker(manager, name: str, facts: dict | None) -> HttpWorker:
    return await HttpWorker(manager.url, name, task_types=["misc"], facts=facts).register_and_sign_on()


async def _submit(manager, **requirements) -> dict:
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1, requirements=requirements))
    assert status == 200, job
    return job


async def _why(manager, job: dict) -> dict:
    status, answer = await manager.request("GET", f"/api/v3/tablao/jobs/{job['id']}/requirements")
    assert status == 200, answer
    return answer


async def _claims(worker: HttpWorker) -> set[str]:
    """The ids of the jobs whose tasks the worker gets, completing each, until it gets none."""
    jobs = set()
    while True:
        status, body = await worker.claim()
        assert status in (200, 204), body
        if status == 204:
            return jobs
        jobs.add(body["job"])
        status, _ = await worker.complete(body["uuid"])
        assert status == 204


async def test_a_gpu_job_waits_on_a_cpu_only_farm_and_says_why(manager) -> None:
    laptop = await _worker(manager, "laptop", CPU_ONLY)
    try:
        job = await _submit(manager, engine="CYCLES", device="GPU", gpu_backend="OPTIX", samples=64)
        assert await _claims(laptop) == set()
        answer = await _why(manager, job)
        assert answer["requirements"] == {"engine": "CYCLES", "device": "GPU", "gpu_backend": "OPTIX",
                                          "samples": 64}
        assert answer["unmet"] == ["needs a GPU (OptiX); no connected worker has one"]
        cpu = await _submit(manager, engine="CYCLES", device="CPU")
        assert await _claims(laptop) == {cpu["id"]}  # the CPU job behind it runs
        assert (await _why(manager, cpu))["unmet"] == []
    finally:
        await laptop.close()


async def test_a_gpu_job_goes_to_a_worker_with_that_backend(manager) -> None:
    laptop, amd, rtx = [await _worker(manager, n, f) for n, f in
                        (("laptop", CPU_ONLY), ("amd", AMD), ("rtx", RTX))]
    try:
        optix = await _submit(manager, device="GPU", gpu_backend="OPTIX")
        assert await _claims(laptop) == set()
        assert await _claims(amd) == set()
        assert await _claims(rtx) == {optix["id"]}
        any_gpu = await _submit(manager, device="GPU")
        assert await _claims(laptop) == set()
        assert await _claims(amd) == {any_gpu["id"]}
    finally:
        for w in (laptop, amd, rtx):
            await w.close()


async def test_a_file_from_a_newer_blender_waits_with_words(manager) -> None:
    old = await _worker(manager, "old", CPU_ONLY)
    try:
        newer = await _submit(manager, blender_version="4.2")
        same = await _submit(manager, blender_version="3.4")  # 3.4.1 opens any 3.4 file
        assert await _claims(old) == {same["id"]}
        assert await _claims(old) == set()
        assert (await _why(manager, newer))["unmet"] == [
            "needs Blender 4.2 or newer (the file was saved with it); the connected workers have Blender 3.4.1"]
        new = await _worker(manager, "new", RTX)
        try:
            assert await _claims(new) == {newer["id"]}
        finally:
            await new.close()
    finally:
        await old.close()


async def test_a_recorded_peak_larger_than_a_workers_memory_skips_it(manager) -> None:
    small, big = await _worker(manager, "small", CPU_ONLY), await _worker(manager, "big", RTX)
    try:
        job = await _submit(manager, memory_peak=20 * GIB)
        assert await _claims(small) == set()
        assert await _claims(big) == {job["id"]}
        huge = await _submit(manager, memory_peak=100 * GIB)
        assert (await _why(manager, huge))["unmet"] == [
            "needs 100.0 GiB of memory (its last local render's peak); the connected worker with the most "
            "has 64.0 GiB"]
    finally:
        await small.close()
        await big.close()


async def test_needs_that_no_single_worker_meets_at_once(manager) -> None:
    old_gpu = await _worker(manager, "old-gpu", {**RTX, "blender_version": "3.6.0"})
    new_cpu = await _worker(manager, "new-cpu", {**CPU_ONLY, "blender_version": "4.2.1"})
    try:
        job = await _submit(manager, device="GPU", blender_version="4.2")
        assert await _claims(old_gpu) == set() and await _claims(new_cpu) == set()
        assert (await _why(manager, job))["unmet"] == [
            "needs a GPU and Blender 4.2 or newer; no connected worker has all of these at once"]
    finally:
        await old_gpu.close()
        await new_cpu.close()


async def test_a_worker_that_says_nothing_keeps_getting_every_job(manager) -> None:
    """A stock Flamenco worker sends no facts: unknown is not lacking, so nothing changes for it."""
    stock = await _worker(manager, "stock", None)
    try:
        job = await _submit(manager, device="GPU", gpu_backend="HIP", blender_version="9.9", memory_peak=2**49)
        assert await _claims(stock) == {job["id"]}
    finally:
        await stock.close()


async def test_a_job_without_requirements_runs_anywhere_and_says_nothing(manager) -> None:
    laptop = await _worker(manager, "laptop", CPU_ONLY)
    try:
        status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
        assert status == 200
        assert await _claims(laptop) == {job["id"]}
        assert await _why(manager, job) == {"requirements": {}, "unmet": []}
    finally:
        await laptop.close()


async def test_a_later_sign_on_updates_what_the_worker_has(manager) -> None:
    worker = await _worker(manager, "upgraded", CPU_ONLY)
    try:
        job = await _submit(manager, device="GPU")
        assert await _claims(worker) == set()
        worker.facts = RTX  # a GPU went in; the worker signs on again
        await worker.register_and_sign_on()
        assert await _claims(worker) == {job["id"]}
    finally:
        await worker.close()


async def test_one_statement_per_claim_with_requirements(manager) -> None:
    laptop = await _worker(manager, "laptop", CPU_ONLY)
    try:
        for _ in range(5):
            await _submit(manager, device="GPU", blender_version="4.2", memory_peak=GIB)
        before = QUERIES["claim"]
        assert await _claims(laptop) == set()
        assert QUERIES["claim"] - before == 1
    finally:
        await laptop.close()


@pytest.mark.parametrize(("requirements", "words"), [
    ({"device": "TPU"}, "`requirements.device` must be one of CPU, GPU, not 'TPU'"),
    ({"device": "GPU", "gpu_backend": "VULKAN"}, "`requirements.gpu_backend` must be one of CUDA, OPTIX"),
    ({"device": "CPU", "gpu_backend": "OPTIX"}, "`requirements.gpu_backend` is OPTIX, but `requirements.device` "
                                                "is CPU: a backend only counts with device GPU"),
    ({"gpu_backend": "CUDA"}, "`requirements.device` is not given"),
    ({"blender_version": "four"}, "`requirements.blender_version` must be a Blender version such as 3.6"),
    ({"blender_version": "4"}, "must be a Blender version"),
    ({"memory_peak": -1}, "`requirements.memory_peak` must be a whole number from 0 to"),
    ({"memory_peak": 2**60}, "`requirements.memory_peak` must be a whole number from 0 to"),
    ({"memory_peak": "8G"}, "`requirements.memory_peak` must be a whole number"),
    ({"samples": 1.5}, "`requirements.samples` must be a whole number"),
    ({"resolution_x": 0}, "`requirements.resolution_x` must be a whole number from 1 to 65,536"),
    ({"engine": "x" * 300}, "`requirements.engine` must be at most 255 characters"),
    ({"engine": None}, "`requirements.engine` must be a string, not null"),
])
async def test_bad_requirements_are_a_400_in_words_and_store_nothing(manager, requirements, words) -> None:
    for path in ("/api/v3/jobs/check", "/api/v3/jobs"):
        status, body = await manager.request("POST", path, json=echo_job(requirements=requirements))
        assert status == 400, body
        assert words in body["message"], body["message"]
    _, jobs = await manager.request("GET", "/api/v3/jobs")
    assert jobs["jobs"] == []


async def test_requirements_that_are_not_an_object_are_a_400(manager) -> None:
    for value in ("GPU", ["GPU"], 3):
        status, body = await manager.request("POST", "/api/v3/jobs", json=echo_job(requirements=value))
        assert status == 400 and "`requirements` must be a JSON object" in body["message"], body


async def test_the_route_of_an_unknown_job_is_a_404_and_needs_the_access_token(manager_factory) -> None:
    manager = await manager_factory(access_token="sesame")
    status, _ = await manager.request("GET", "/api/v3/tablao/jobs/00000000-0000-0000-0000-000000000000/requirements")
    assert status in (401, 403)
    headers = {"Authorization": "Bearer sesame"}
    status, body = await manager.request(
        "GET", "/api/v3/tablao/jobs/00000000-0000-0000-0000-000000000000/requirements", headers=headers)
    assert status == 404 and "does not exist" in body["message"]
    status, body = await manager.request("GET", "/api/v3/tablao/jobs/' OR 1=1 --/requirements", headers=headers)
    assert status == 404


async def test_odd_worker_facts_are_kept_as_unknown_and_bad_ones_refused(manager) -> None:
    """A newer worker may name a backend this Manager does not know: it counts for nothing, and the
    worker still signs on; facts of the wrong type are a 400 naming the field."""
    odd = await _worker(manager, "odd", {"gpu_backends": ["VULKAN"], "blender_version": "nightly"})
    try:
        gpu = await _submit(manager, device="GPU")
        versioned = await _submit(manager, blender_version="4.2")
        assert await _claims(odd) == {versioned["id"]}  # its version is unknown, so not known to be older
        assert (await _why(manager, gpu))["unmet"] == ["needs a GPU; no connected worker has one"]
        status, body = await odd.call("POST", "/api/v3/worker/sign-on", json={
            "name": "odd", "supported_task_types": ["misc"], "software_version": "t",
            "facts": {"memory_total": "lots"}})
        assert status == 400 and "`facts.memory_total` must be a whole number" in body["message"], body
    finally:
        await odd.close()


async def test_a_worker_shows_what_it_said_at_sign_on(manager) -> None:
    rtx = await _worker(manager, "rtx", {**RTX, "gpu_backends": ["optix", "CUDA", "VULKAN"]})
    stock = await _worker(manager, "stock", None)
    try:
        _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{rtx.uuid}")
        assert shown["facts"] == {"gpu_backends": ["CUDA", "OPTIX"], "memory_total": 64 * GIB,
                                  "blender_version": "4.2.3"}
        _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{stock.uuid}")
        assert "facts" not in shown
    finally:
        await rtx.close()
        await stock.close()


async def test_a_gpu_job_wakes_no_cpu_only_worker_and_the_gpu_one_at_once(manager) -> None:
    """Waiting workers are grouped by what they have too: a GPU job on a CPU-only farm costs no claim,
    where each idle worker would otherwise be woken in turn to find nothing."""
    import asyncio

    queue = manager.services.waiters.work
    laptops = [await _worker(manager, f"laptop-{i}", CPU_ONLY) for i in range(12)]
    rtx = await _worker(manager, "rtx", RTX)
    polls = {w.name: asyncio.create_task(w.claim(wait=30)) for w in [*laptops, rtx]}
    try:
        async with asyncio.timeout(20):
            while queue.waiting < len(polls):
                await asyncio.sleep(0.01)
        claims, wakeups = QUERIES["claim"], queue.wakeups
        job = await _submit(manager, device="GPU", gpu_backend="OPTIX")
        status, task = await asyncio.wait_for(polls["rtx"], 20)
        assert status == 200 and task["job"] == job["id"]
        await asyncio.sleep(0.3)  # any further wake-up would be on its way by now
        assert queue.wakeups - wakeups == 1, "only the worker with a GPU is woken"
        assert QUERIES["claim"] - claims == 1
        assert not any(polls[w.name].done() for w in laptops)
    finally:
        for poll in polls.values():
            poll.cancel()
        for w in [*laptops, rtx]:
            await w.close()


async def test_a_workers_vitals_keep_its_blender_current(manager) -> None:
    """Upgraded in place (or rendering with the Manager's `{blender}`): the vitals say the Blender it
    renders with, and a job that waited for a newer one goes to it without a new sign-on."""
    blenders = manager.services.sessions.blenders
    worker = await _worker(manager, "upgraded", CPU_ONLY)
    try:
        job = await _submit(manager, blender_version="4.2")
        assert await _claims(worker) == set()
        writes = blenders.writes
        for _ in range(3):  # reports come every few seconds: one store write for the change
            status, body = await worker.call("POST", "/api/v3/tablao/worker/vitals", json={
                "blender_version": "4.2.1", "cpu_percent": 3.0})
            assert status == 204, body
        assert blenders.writes - writes == 1
        assert await _claims(worker) == {job["id"]}
        _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{worker.uuid}")
        assert shown["facts"]["blender_version"] == "4.2.1"
        status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals", json={"blender_version": "nightly"})
        assert status == 204  # no version: kept as it was
        _, shown = await manager.request("GET", f"/api/v3/worker-mgt/workers/{worker.uuid}")
        assert shown["facts"]["blender_version"] == "4.2.1"
    finally:
        await worker.close()
