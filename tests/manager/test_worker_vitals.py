"""Workers' vitals and the truth of the worker list, on a real Manager with scripted HTTP workers.

A worker reports its vitals to `/api/v3/tablao/worker/vitals`; the worker list and the worker show
them, the event stream carries them (throttled), a stock-like worker that sends none shows none, and
bad reports get a 4xx in words. An idle worker shows no task, and "last seen" is fresh while the
worker waits in a held request.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest

from app.common.clock import parse_rfc3339
from tests.conftest import echo_job
from tests.http_worker import HttpWorker

VITALS = "/api/v3/tablao/worker/vitals"
REPORT = {
    "cpu_percent": 87.25, "render_cpu_percent": 80, "cpu_count": 16, "memory_used": 12 << 30,
    "memory_total": 64 << 30, "render_memory": 9 << 30, "blender_version": "4.2.1", "frame": 12,
    "sample": 64, "samples_total": 128,
    "gpus": [{"name": "NVIDIA RTX A4000", "percent": 97, "memory_used": 6 << 30, "memory_total": 16 << 30}],
}


async def worker_json(manager, uuid: str) -> dict:
    status, body = await manager.request("GET", f"/api/v3/worker-mgt/workers/{uuid}")
    assert status == 200, body
    return body


async def listed(manager, uuid: str) -> dict:
    _, body = await manager.request("GET", "/api/v3/worker-mgt/workers")
    return next(w for w in body["workers"] if w["id"] == uuid)


async def test_reported_vitals_show_on_the_worker_and_in_the_list(manager):
    worker = await HttpWorker(manager.url, "render-01").register_and_sign_on()
    stock = await HttpWorker(manager.url, "flamenco-worker").register_and_sign_on()
    try:
        status, body = await worker.call("POST", VITALS, json={**REPORT, "a_field_from_a_newer_worker": 1})
        assert status == 204, body
        detail, summary = await worker_json(manager, worker.uuid), await listed(manager, worker.uuid)
        for shown in (detail["vitals"], summary["vitals"]):
            assert shown["cpu_percent"] == 87.2 and shown["render_cpu_percent"] == 80.0
            assert shown["memory_used"] == 12 << 30 and shown["memory_total"] == 64 << 30
            assert shown["blender_version"] == "4.2.1" and shown["frame"] == 12
            assert (shown["sample"], shown["samples_total"]) == (64, 128)
            assert shown["gpus"] == [{"name": "NVIDIA RTX A4000", "percent": 97.0, "memory_used": 6 << 30,
                                      "memory_total": 16 << 30}]
            assert "a_field_from_a_newer_worker" not in shown
            age = dt.datetime.now(dt.UTC) - parse_rfc3339(shown["updated"])
            assert abs(age.total_seconds()) < 5
        # A worker that sends none (Flamenco's own) has no vitals at all: not zeros.
        assert "vitals" not in await worker_json(manager, stock.uuid)
        assert "vitals" not in await listed(manager, stock.uuid)

        # A newer report replaces the older one whole: no frame while it renders none.
        status, _ = await worker.call("POST", VITALS, json={"cpu_percent": 3})
        assert status == 204
        assert (await worker_json(manager, worker.uuid))["vitals"].keys() == {"cpu_percent", "updated"}

        # Offline: its vitals are not shown any more.
        status, _ = await worker.call("POST", "/api/v3/worker/sign-off")
        assert status == 204
        assert "vitals" not in await worker_json(manager, worker.uuid)
    finally:
        await worker.close()
        await stock.close()


@pytest.mark.parametrize("body, words", [
    ({"cpu_percent": 101}, "`cpu_percent` must be a number from 0 to 100, not 101"),
    ({"cpu_percent": "lots"}, "`cpu_percent` must be a number"),
    ({"cpu_percent": True}, "`cpu_percent` must be a number"),
    ({"cpu_percent": None}, "`cpu_percent` must be a number"),
    ({"memory_used": -1}, "`memory_used` must be a whole number from 0 to 1,125,899,906,842,624, not -1"),
    ({"memory_used": 2.5}, "`memory_used` must be a whole number"),
    ({"memory_used": 8, "memory_total": 4}, "`memory_used` (8) cannot be more than `memory_total` (4)"),
    ({"sample": 65, "samples_total": 64}, "cannot be more than `samples_total`"),
    ({"frame": 10**12}, "`frame` must be a whole number from -1,048,574 to 1,048,574"),
    ({"cpu_count": 0}, "`cpu_count` must be a whole number from 1"),
    ({"blender_version": "4.2" * 40}, "`blender_version` must be at most 64 characters"),
    ({"blender_version": "4.2\n<script>"}, "`blender_version` must be printable text"),
    ({"blender_version": "4.2\x00"}, "NUL"),
    ({"blender_version": ["4.2"]}, "`blender_version` must be a string"),
    ({"gpus": "RTX"}, "`gpus` must be a list"),
    ({"gpus": [{"percent": 3}]}, "`gpus[0].name` is required"),
    ({"gpus": [{"name": "x", "percent": 300}]}, "`gpus[0].percent` must be a number from 0 to 100"),
    ({"gpus": [{"name": "x"}] * 17}, "`gpus` may have at most 16 items"),
    ({"gpus": [{"name": " "}]}, "`gpus[0].name` is required and must not be empty"),
    ({"gpus": [{"name": "x", "memory_used": 9, "memory_total": 8}]},
     "`gpus[0].memory_used` (9) cannot be more than `gpus[0].memory_total` (8)"),
    ({"gpus": [{"name": "x\ty"}]}, "`gpus[0].name` must be printable text"),
    ({"render_memory": 1 << 51}, "`render_memory` must be a whole number from 0 to"),
    ({"sample": 1, "samples_total": None}, "`samples_total` must be a whole number from 0 to 16,777,216, not null"),
    ([REPORT], "expected a JSON object"),
])
async def test_bad_vitals_are_a_400_in_words_and_keep_nothing(manager, body, words):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        status, answer = await worker.call("POST", VITALS, json=body)
        assert status == 400 and words in answer["message"], answer
        assert "vitals" not in await worker_json(manager, worker.uuid)
    finally:
        await worker.close()


@pytest.mark.parametrize("raw, field", [(b'{"cpu_percent": NaN}', "cpu_percent"),
                                        (b'{"gpus": [{"name": "x", "percent": Infinity}]}', "gpus[0].percent")])
async def test_numbers_that_json_has_not_are_a_400_naming_the_field(manager, raw, field):
    """Python's JSON reader takes NaN and Infinity; a report is JSON, which has neither."""
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        headers = {**worker.auth_header, "Content-Type": "application/json"}
        async with worker.session.post(VITALS, data=raw, headers=headers) as resp:
            status, answer = resp.status, await resp.json()
        assert status == 400 and f"`{field}` must be a number from 0 to 100, not" in answer["message"], answer
        assert "vitals" not in await worker_json(manager, worker.uuid)
    finally:
        await worker.close()


async def test_vitals_are_bounded_and_need_the_workers_credentials(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        huge = {**REPORT, "padding": "x" * 5000}
        status, answer = await worker.call("POST", VITALS, json=huge)
        assert status == 413 and "4,096 bytes" in answer["message"], answer
        status, answer = await worker.call("POST", VITALS, json=REPORT, headers={"Authorization": "Basic bm9ib2R5Og=="})
        assert status == 403, answer
        async with manager.session.post(VITALS, json=REPORT) as resp:
            assert resp.status == 403
        assert "vitals" not in await worker_json(manager, worker.uuid)
    finally:
        await worker.close()


@pytest.mark.slow  # waits out the throttle
async def test_vitals_reach_the_event_stream_at_most_once_a_second_per_worker(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        async with manager.session.ws_connect("/api/v3/tablao/events?types=worker_vitals_did_change") as ws:
            for frame in range(1, 6):  # five reports at once: one event now, the newest a second later
                status, _ = await worker.call("POST", VITALS, json={"frame": frame, "cpu_percent": 50})
                assert status == 204
            events, started = [], asyncio.get_running_loop().time()
            while len(events) < 2:
                msg = json.loads((await asyncio.wait_for(ws.receive(), 5)).data)
                if msg["type"] == "worker_vitals_did_change":
                    events.append((asyncio.get_running_loop().time() - started, msg["data"]))
            more = []  # nothing more: the five reports were told in two events
            try:
                while True:
                    msg = json.loads((await asyncio.wait_for(ws.receive(), 1.5)).data)
                    if msg["type"] == "worker_vitals_did_change":
                        more.append(msg)
            except TimeoutError:
                pass
            assert more == []
    finally:
        await worker.close()
    (_, first), (after, second) = events
    assert first["id"] == worker.uuid and first["vitals"]["frame"] == 1 and first["last_seen"]
    assert second["vitals"]["frame"] == 5  # the newest held report wins
    assert 0.5 < after < 2.5, after


async def test_an_idle_worker_shows_no_task_and_a_working_one_its_task(manager):
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
    assert status == 200, job
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200
        shown = (await worker_json(manager, worker.uuid))["task"]
        assert shown["id"] == task["uuid"] and shown["status"] == "active" and shown["job_id"] == job["id"]
        status, _ = await worker.complete(task["uuid"])
        assert status == 204
        assert "task" not in await worker_json(manager, worker.uuid)  # not its last task: it runs none
        status, _ = await manager.request("POST", f"/api/v3/worker-mgt/workers/{worker.uuid}/setstatus",
                                          json={"status": "asleep", "is_lazy": False}, admin=True)
        assert status == 204
        assert "task" not in await worker_json(manager, worker.uuid)
    finally:
        await worker.close()


@pytest.mark.slow  # holds a long poll
async def test_last_seen_is_fresh_while_the_worker_waits_in_a_held_request(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        held = asyncio.create_task(worker.claim(wait=6))  # no work: the Manager holds the request
        await asyncio.sleep(3.5)
        for shown in (await worker_json(manager, worker.uuid), await listed(manager, worker.uuid)):
            age = dt.datetime.now(dt.UTC) - parse_rfc3339(shown["last_seen"])
            assert age.total_seconds() < 1.5, shown["last_seen"]  # not the 3.5 s old start of its request
        status, _ = await held
        assert status == 204
    finally:
        await worker.close()


async def test_a_report_counts_as_seeing_the_worker(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        await asyncio.sleep(2.2)
        status, _ = await worker.call("POST", VITALS, json={"cpu_percent": 1})
        assert status == 204
        shown = await worker_json(manager, worker.uuid)
        age = dt.datetime.now(dt.UTC) - parse_rfc3339(shown["last_seen"])
        assert age.total_seconds() < 1.0, shown["last_seen"]
    finally:
        await worker.close()
