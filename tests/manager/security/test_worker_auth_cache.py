"""A worker's Basic credentials, once checked, are remembered by their exact header text: a worker
that is deleted, or whose entry changes, is refused with that same header at once, and a wrong
secret is never let through for having come after a right one."""

from __future__ import annotations

import pytest

from app.api.errors import Forbidden
from app.api.transport import basic_auth
from app.manager.credentials.auth import CredentialCache, hash_secret

UUID_A = "0b6e6b8c-1f0a-4f7e-9d55-3a5f0c2a1b01"
SECRET, OTHER = "s" * 64, "t" * 64


def test_a_remembered_header_is_dropped_with_the_workers_entry():
    cache = CredentialCache()
    cache.add(7, UUID_A, hash_secret(SECRET))
    header = basic_auth(UUID_A, SECRET)
    assert cache.authenticate(header).id == 7
    assert cache.authenticate(header).id == 7  # remembered
    with pytest.raises(Forbidden):
        cache.authenticate(basic_auth(UUID_A, OTHER))
    cache.add(7, UUID_A, hash_secret(OTHER))  # the worker's secret changed
    with pytest.raises(Forbidden):
        cache.authenticate(header)
    assert cache.authenticate(basic_auth(UUID_A, OTHER)).id == 7
    cache.remove(UUID_A)
    with pytest.raises(Forbidden):
        cache.authenticate(basic_auth(UUID_A, OTHER))
    cache.load([(8, UUID_A, hash_secret(SECRET))])
    assert cache.authenticate(header).id == 8


def test_each_worker_keeps_one_remembered_header():
    cache = CredentialCache()
    cache.add(7, UUID_A, hash_secret(SECRET))
    spellings = [basic_auth(UUID_A, SECRET), "basic " + basic_auth(UUID_A, SECRET).split(" ", 1)[1],
                 "  " + basic_auth(UUID_A, SECRET)]
    for header in spellings:
        assert cache.authenticate(header).id == 7
    assert len(cache._verified) == 1 and cache._header_of == {UUID_A: spellings[-1]}


async def test_a_deleted_worker_is_refused_with_the_header_it_used(manager):
    status, body = await manager.request("POST", "/api/v3/worker/register-worker", json={
        "name": "gone", "secret": SECRET, "platform": "linux", "supported_task_types": ["misc"]})
    assert status == 200, body
    worker = body["uuid"]
    header = {"Authorization": basic_auth(worker, SECRET)}
    for _ in range(2):
        status, body = await manager.request("POST", "/api/v3/worker/sign-on", headers=header, json={
            "name": "gone", "supported_task_types": ["misc"], "software_version": "3.6"})
        assert status == 200, body
    status, body = await manager.request("DELETE", f"/api/v3/worker-mgt/workers/{worker}", admin=True)
    assert status == 204, body
    status, body = await manager.request("POST", "/api/v3/worker/sign-on", headers=header, json={
        "name": "gone", "supported_task_types": ["misc"], "software_version": "3.6"})
    assert status == 403 and "wrong secret" in body["message"], body
