"""A job's answer takes its ETA from the shared reading of all unfinished jobs on a real Manager:
repeated and concurrent job GETs cost one reading, an old reading is served while a new one is read
behind it, and a change of who works on what (a worker going to sleep) has it read again first."""

from __future__ import annotations

import asyncio
import threading

from app.manager.jobs import job_eta
from tests.conftest import echo_job
from tests.sim_workers import SimWorker, run_job, submit, workers_of


async def test_job_answers_share_one_eta_reading_until_a_worker_changes(manager):
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        await run_job(manager, await submit(manager, echo_job(repeats=2)), [SimWorker(http, 0.05)])
        job_id = await submit(manager, echo_job(repeats=2))
        etas = manager.services.etas
        before = etas.readings
        answers = await asyncio.gather(*(manager.request("GET", f"/api/v3/jobs/{job_id}") for _ in range(8)))
        answers.append(await manager.request("GET", f"/api/v3/jobs/{job_id}"))
        assert {status for status, _ in answers} == {200}
        assert all(job["eta"] == answers[0][1]["eta"] for _, job in answers)
        assert etas.readings - before == 1  # one reading for all nine, none of the job's own

        status, _ = await http.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"})
        assert status == 204
        status, asleep = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        assert status == 200 and "eta" not in asleep  # read again: its only worker sleeps
        assert etas.readings - before == 2
    finally:
        await http.close()


async def test_an_old_reading_is_served_while_a_new_one_is_read(manager, monkeypatch):
    monkeypatch.setattr(job_eta, "ANSWER_TTL_S", 0.0)  # every reading is old at once
    monkeypatch.setattr(job_eta, "READ_AGAIN_AFTER", 0.0)
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        await run_job(manager, await submit(manager, echo_job(repeats=2)), [SimWorker(http, 0.05)])
        job_id = await submit(manager, echo_job(repeats=2))
        etas = manager.services.etas
        _, first = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        before = etas.readings
        _, second = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        assert second["eta"] == first["eta"]  # the old one, not waited for the one it started
        for _ in range(100):
            if etas.readings > before:
                break
            await asyncio.sleep(0.02)
        assert etas.readings == before + 1
        _, third = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        assert third["eta"]["computed"] >= first["eta"]["computed"]
    finally:
        await http.close()


async def test_a_reading_that_takes_long_is_kept_ten_times_as_long():
    # A unit test of the readings' pace with a clock the reading moves on; the sharing itself is
    # proven on a real Manager above.
    clock = [100.0]
    took = [0.1]

    async def read() -> dict:
        clock[0] += took[0]
        return {"jobs": {}, "reasons": {}, "at": clock[0]}

    readings = job_eta._Readings(read, lambda: clock[0], lambda: 0)
    first = await readings.read()
    assert readings.ttl() == job_eta.ANSWER_TTL_S  # a quick reading: the usual time
    took[0] = 3.0
    clock[0] += job_eta.ANSWER_TTL_S + 0.1
    assert readings.kept(readings.ttl()) is None
    await readings.read()
    assert readings.ttl() == 30.0  # 3 s to read: kept ten times as long
    clock[0] += 26.0  # 29 s since it started
    kept = readings.kept(readings.ttl())
    assert kept is not None and kept[1] != first
    clock[0] += 1.5
    assert readings.kept(readings.ttl()) is None


async def test_where_readings_are_slow_a_jobs_answer_does_not_wait_for_one(manager, monkeypatch):
    # Held readings stand in for slow ones (half a second with 10,000 workers).
    monkeypatch.setattr(job_eta, "READ_WAIT_S", 0.2)
    http = (await workers_of(manager, "sim-1"))[0]
    held = threading.Event()
    read_facts = job_eta._read_facts

    def slow_read_facts(*args):
        held.wait(30)
        return read_facts(*args)

    try:
        await run_job(manager, await submit(manager, echo_job(repeats=2)), [SimWorker(http, 0.05)])
        job_id = await submit(manager, echo_job(repeats=2))
        monkeypatch.setattr(job_eta, "_read_facts", slow_read_facts)
        threading.Timer(0.5, held.set).start()
        # Readings were quick so far: this answer waits for its reading, which takes 0.5 s.
        status, first = await manager.request("GET", f"/api/v3/jobs/{job_id}")
        assert status == 200 and "eta" in first
        held.clear()
        status, _ = await http.call("POST", "/api/v3/worker/state-changed", json={"status": "asleep"})
        assert status == 204  # the reading is wrong now: it is read again, and that reading is held
        # Bounded so that the old behaviour fails instead of hanging: it waited for the reading.
        status, second = await asyncio.wait_for(manager.request("GET", f"/api/v3/jobs/{job_id}"), 10)
        assert status == 200 and second["eta"] == first["eta"]  # the last figure, not a wait
        held.set()
        for _ in range(100):
            _, third = await manager.request("GET", f"/api/v3/jobs/{job_id}")
            if "eta" not in third:
                break
            await asyncio.sleep(0.02)
        assert "eta" not in third  # the new reading's answer: its only worker sleeps
    finally:
        held.set()
        await http.close()
