"""Strings a client wants stored are bounded, free of NUL and valid Unicode; types are checked.

Against a real Manager and its real SQLite store (each of these was once a fault: a lone
surrogate in a job name was a UnicodeEncodeError 500; names with NUL and 10 MB names were stored,
and the 10 MB name was logged as one line; `settag` with `{"name": [null, null]}` was a 500).
"""

from __future__ import annotations

import json
import logging

import pytest

from tests.conftest import echo_job
from tests.http_worker import HttpWorker

JSON = {"Content-Type": "application/json"}
TEN_MB = "n" * 10_000_000


async def _count(manager, model_name: str) -> int:
    from app.manager.persistence import models

    model = getattr(models, model_name)
    return await manager.services.store.call(lambda: model.select().count())


async def _post_raw(manager, path: str, body: dict, method: str = "POST"):
    # json.dumps keeps "\ud800" as the escape a hostile client would send.
    return await manager.request(method, path, data=json.dumps(body), headers=JSON, admin=True)


@pytest.mark.parametrize("name, words", [
    ("a\ud800b", "the request body holds text that is not valid Unicode in `name` (a lone UTF-16 surrogate"),
    ("a\x00b", "`name` must not contain NUL"),
    (TEN_MB, "`name` must be at most 1,000 characters long (it has 10,000,000)"),
    ([None, None], "`name` must be a string, not a list"),
    ("   ", "`name` is required"),
])
async def test_bad_job_names_are_400_and_nothing_is_stored(manager, name, words, caplog):
    caplog.set_level(logging.DEBUG)
    for path in ("/api/v3/jobs", "/api/v3/jobs/check"):
        status, body = await _post_raw(manager, path, echo_job(name=name))
        assert status == 400, body
        assert words in body["message"]
    assert await _count(manager, "Job") == 0
    assert all(len(r.getMessage()) < 10_000 for r in caplog.records), "a client's string was logged whole"


@pytest.mark.parametrize("field, value, words", [
    ("settings", {"message": "x" * 70_000}, "`settings.message` must be at most 65,536 characters"),
    ("settings", {"message": "a\x00"}, "`settings.message` must not contain NUL"),
    ("settings", {"message": "\udfff"}, "not valid Unicode in `settings.message`"),
    ("metadata", {"k" * 300: "v"}, "in `metadata` must be at most 255 characters"),
    ("metadata", {"user.name": "\x00"}, "`metadata.user.name` must not contain NUL"),
    ("storage", {"shaman_checkout_id": "x" * 70_000}, "`storage.shaman_checkout_id` must be at most"),
    ("type", "t" * 300, "`type` must be at most 255 characters"),
    ("submitter_platform", "linux\x00", "`submitter_platform` must not contain NUL"),
    ("type_etag", ["x"], "`type_etag` must be a string"),
    ("worker_tag", "w" * 300, "`worker_tag` must be at most 255 characters"),
])
async def test_bad_settings_and_fields_are_400_naming_the_field(manager, field, value, words):
    status, body = await _post_raw(manager, "/api/v3/jobs", echo_job(**{field: value}))
    assert status == 400, body
    assert words in body["message"]
    assert await _count(manager, "Job") == 0


async def test_good_unicode_is_stored_as_sent(manager):
    name = "Ünïcödé 🎬 job ✓"
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(name=name, message="héllo 🎬"), admin=True)
    assert status == 200, job
    status, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}", admin=True)
    assert fetched["name"] == name and fetched["settings"]["message"] == "héllo 🎬"


@pytest.mark.parametrize("body, words", [
    ({"name": [None, None]}, "`name` must be a string, not a list"),
    ({"id": 5}, "`id` must be a string, not a number"),
    ({"name": {"a": 1}}, "`name` must be a string, not an object"),
    ({"name": "t" * 300}, "`name` must be at most 255 characters"),
    ({"name": "a\x00"}, "`name` must not contain NUL"),
])
async def test_settag_with_wrong_types_is_400(manager, body, words):
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(), admin=True)
    assert status == 200
    status, answer = await manager.request("POST", f"/api/v3/jobs/{job['id']}/settag", json=body, admin=True)
    assert status == 400, answer
    assert words in answer["message"]
    status, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}", admin=True)
    assert not fetched.get("worker_tag")


@pytest.mark.parametrize("body, words", [
    ({"name": "a\ud800"}, "lone UTF-16 surrogate"),
    ({"name": "a\x00"}, "`name` must not contain NUL"),
    ({"name": "t" * 256}, "`name` must be at most 255 characters"),
    ({"name": "ok", "description": "d" * 5000}, "`description` must be at most 4,000 characters"),
    ({"name": "ok", "description": ["x"]}, "`description` must be a string, not a list"),
    ({"name": "ok", "description": None}, "`description` must be a string, not null"),
    ({"name": "ok", "id": ["x"]}, "`id` must be a string, not a list"),
])
async def test_bad_worker_tags_are_400_and_not_stored(manager, body, words):
    status, answer = await _post_raw(manager, "/api/v3/worker-mgt/tags", body)
    assert status == 400, answer
    assert words in answer["message"]
    assert await _count(manager, "WorkerTag") == 0


async def test_tag_update_and_worker_tags_check_types(manager):
    status, tag = await manager.request("POST", "/api/v3/worker-mgt/tags", json={"name": "gpu"}, admin=True)
    assert status == 200, tag
    status, answer = await manager.request("PUT", f"/api/v3/worker-mgt/tag/{tag['id']}", json={"name": "\x00"}, admin=True)
    assert status == 400 and "`name` must not contain NUL" in answer["message"]
    status, answer = await manager.request("PUT", f"/api/v3/worker-mgt/tag/{tag['id']}",
                                           json={"name": "gpu", "description": None}, admin=True)
    assert status == 400 and "`description` must be a string, not null" in answer["message"]
    status, answer = await manager.request("PUT", f"/api/v3/worker-mgt/tag/{tag['id']}",
                                           json={"name": "gpu", "id": {}}, admin=True)
    assert status == 400 and "`id` must be a string, not an object" in answer["message"]
    worker = await HttpWorker(manager.url, name="w").register_and_sign_on()
    try:
        path = f"/api/v3/worker-mgt/workers/{worker.uuid}/settags"
        status, answer = await manager.request("POST", path, json={"tag_ids": [None]}, admin=True)
        assert status == 400 and "`tag_ids[0]` must be a string, not null" in answer["message"]
    finally:
        await worker.close()


@pytest.mark.parametrize("field, value, words", [
    ("name", "w\x00", "`name` must not contain NUL"),
    ("name", "w" * 256, "`name` must be at most 255 characters"),
    ("name", "\ud800", "lone UTF-16 surrogate"),
    ("platform", ["linux"], "`platform` must be a string, not a list"),
    ("supported_task_types", ["blender", None], "`supported_task_types[1]` must be a string, not null"),
    ("supported_task_types", ["b" * 300], "`supported_task_types[0]` must be at most 255"),
    ("software", "s" * 300, "`software` must be at most 255 characters"),
])
async def test_bad_worker_registration_is_400_and_not_stored(manager, field, value, words):
    body = {"secret": "s3cret", "platform": "linux", "supported_task_types": ["blender"], "name": "w"}
    body[field] = value
    status, answer = await _post_raw(manager, "/api/v3/worker/register-worker", body)
    assert status == 400, answer
    assert words in answer["message"]
    assert await _count(manager, "Worker") == 0


async def test_task_updates_and_status_reasons_are_checked(manager):
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(), admin=True)
    assert status == 200
    worker = await HttpWorker(manager.url, name="w", task_types=["misc"]).register_and_sign_on()
    try:
        status, task = await worker.claim()
        assert status == 200, task
        status, answer = await worker.update(task["uuid"], activity="a\x00")
        assert status == 400 and "`activity` must not contain NUL" in answer["message"]
        status, answer = await worker.update(task["uuid"], activity="a" * 70_000)
        assert status == 400 and "`activity` must be at most 65,536 characters" in answer["message"]
        status, answer = await worker.update(task["uuid"], activity="Rendering 🎬")
        assert status == 204, answer
    finally:
        await worker.close()
    path = f"/api/v3/jobs/{job['id']}/setstatus"
    status, answer = await manager.request("POST", path, json={"status": "paused", "reason": ["x"]}, admin=True)
    assert status == 400 and "`reason` must be a string, not a list" in answer["message"]
    status, answer = await manager.request("POST", path, json={"status": "x" * 100_000}, admin=True)
    assert status == 400 and len(answer["message"]) < 200
