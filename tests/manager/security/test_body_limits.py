"""Request bodies are bounded in size and JSON depth: a 413 or 400 in words, never a 500.

Against a real Manager over HTTP (JSON nested 1,000 levels deep was once a
RecursionError 500).
"""

from __future__ import annotations

import json

import pytest

from app.common import events as ev
from app.manager.web.request_body import DEFAULT_BODY_MAX, JOB_BODY_MAX
from tests.conftest import echo_job

JSON = {"Content-Type": "application/json"}


async def _stored_jobs(manager) -> int:
    from app.manager.persistence.models import Job

    return await manager.services.store.call(lambda: Job.select().count())


async def test_job_submission_over_16_mib_is_413_in_words(manager):
    job = echo_job(metadata={"padding": "x" * (JOB_BODY_MAX + 1)})
    status, body = await manager.request("POST", "/api/v3/jobs", data=json.dumps(job), headers=JSON)
    assert status == 413, body
    assert body["code"] == 413 and "larger than 16 MiB" in body["message"]
    assert await _stored_jobs(manager) == 0


async def test_a_big_job_under_the_limit_is_accepted(manager):
    # Two MiB of settings is more than any other endpoint takes, and fine for a job.
    job = echo_job(metadata={f"k{i}": "x" * 20_000 for i in range(100)})
    status, body = await manager.request("POST", "/api/v3/jobs", json=job)
    assert status == 200, body


async def test_small_endpoints_have_a_smaller_limit(manager):
    tag = {"name": "big", "description": "x" * DEFAULT_BODY_MAX}
    status, body = await manager.request("POST", "/api/v3/worker-mgt/tags", json=tag, admin=True)
    assert status == 413 and "larger than 1 MiB" in body["message"]
    status, body = await manager.request("GET", "/api/v3/worker-mgt/tags")
    assert status == 200 and body["tags"] == []


async def test_body_without_content_length_is_bounded_too(manager):
    async def chunks():
        for _ in range(DEFAULT_BODY_MAX // 65536 + 2):
            yield b" " * 65536

    status, body = await manager.request("POST", "/api/v3/worker-mgt/tags", data=chunks(), headers=JSON, admin=True)
    assert status == 413 and body["code"] == 413


@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
async def test_deep_json_is_400_in_words(manager, depth):
    raw = "[" * depth + "]" * depth
    for path in ("/api/v3/jobs", "/api/v3/worker-mgt/tags", "/api/v3/worker/register-worker"):
        status, body = await manager.request("POST", path, data=raw, headers=JSON, admin=True)
        assert status == 400, (path, body)
        assert "the request body is nested too deeply (at most 64 levels" in body["message"]


async def test_deep_json_inside_job_settings_is_400(manager):
    deep: object = "leaf"
    for _ in range(200):
        deep = {"d": deep}
    status, body = await manager.request("POST", "/api/v3/jobs", json=echo_job(metadata={"x": deep}))
    assert status == 400 and "nested too deeply" in body["message"]
    assert await _stored_jobs(manager) == 0


async def test_nesting_up_to_the_limit_is_fine(manager):
    raw = "[" * 64 + "]" * 64
    status, body = await manager.request("POST", "/api/v3/worker-mgt/tags", data=raw, headers=JSON, admin=True)
    assert status == 400 and body["message"] == "expected a JSON object, not a list"


@pytest.mark.parametrize("raw", ["{", "{'a': 1}", "nul", "\xff\xfe".encode("latin-1")])
async def test_invalid_json_is_400_in_words(manager, raw):
    status, body = await manager.request("POST", "/api/v3/jobs", data=raw, headers=JSON)
    assert status == 400, body
    assert body["message"].startswith("the request body is not ")
    assert "not valid JSON" in body["message"] or "not UTF-8 text" in body["message"]


async def test_event_stream_ignores_deep_commands(manager):
    assert manager.session is not None
    async with manager.session.ws_connect("/api/v3/tablao/events") as ws:
        await ws.receive_json()  # greeting
        await ws.send_str("[" * 100_000 + "]" * 100_000)
        await ws.send_str(json.dumps({"op": "subscribe", "types": [[1], {"a": 1}, ev.JOB_DID_CHANGE]}))
        await ws.send_str(json.dumps({"op": "subscribe", "task_log": "\ud800"}))
        status, _ = await manager.request("POST", "/api/v3/jobs", json=echo_job())
        assert status == 200
        event = await ws.receive_json(timeout=10)
        # The subscribe command may still be on its way when the Manager's own farm-status event
        # goes out; after it, only the subscribed topic arrives.
        while event["type"] == ev.FARM_STATUS_DID_CHANGE:
            event = await ws.receive_json(timeout=10)
        assert event["type"] == ev.JOB_DID_CHANGE
