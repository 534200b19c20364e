"""Checkouts belong to jobs: a job may only refer to a Shaman checkout the Shaman made and no
other job owns, and deleting a job erases its own checkout and nothing else.

All against a real Manager with the Shaman on, its checkouts on a real file system.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest

from tests.conftest import echo_job
from tests.shaman.support import wait_for

CHECKOUT = "/api/v3/shaman/checkout/create"


async def make_checkout(manager, path: str, data: bytes = b"blend file bytes") -> str:
    sha = hashlib.sha256(data).hexdigest()
    status, _ = await manager.request("POST", f"/api/v3/shaman/files/{sha}/{len(data)}", data=data)
    assert status in (204, 208)
    spec = {"files": [{"sha": sha, "size": len(data), "path": "scene.blend"}], "checkoutPath": path}
    status, body = await manager.request("POST", CHECKOUT, json=spec)
    assert status == 200, body
    return body["checkoutPath"]


async def submit(manager, checkout: object, path: str = "/api/v3/jobs") -> tuple[int, dict]:
    return await manager.request("POST", path, json=echo_job(storage={"shaman_checkout_id": checkout}))


@pytest.fixture
async def shaman_manager(manager_factory):
    return await manager_factory(shaman_enabled=True)


def jobs_root(manager) -> Path:
    return Path(manager.cfg.shared_storage_path) / "jobs"


async def test_a_job_gets_its_own_checkout_and_no_other_job_can_take_it(shaman_manager):
    manager = shaman_manager
    mine = await make_checkout(manager, "proj/jobA")
    status, job = await submit(manager, mine)
    assert status == 200, job
    assert job["storage"] == {"shaman_checkout_id": "proj/jobA"}
    for endpoint in ("/api/v3/jobs", "/api/v3/jobs/check"):
        status, body = await submit(manager, mine, endpoint)
        assert status == 400 and "already belongs to job" in body["message"] and job["id"] in body["message"]


@pytest.mark.parametrize("checkout", [
    "proj",  # the parent folder of another job's checkout
    "proj/jobA/scene.blend",  # a file inside it
    "Proj/JobA",  # another spelling of it (case-insensitive file systems)
    "proj/./jobA", "proj//jobA", "proj/jobA/", "proj/x/../jobA",
    "..", "../..", "../../x", "proj/../..", ".",
    "/etc", "/", "C:/Windows", "C:\\Windows", "\\\\server\\share",
    "proj\x00/jobA", "a\nb", "{jobs}",
    "never-made", "file-store", "file-store/stored",
    "x" * 256, "a/" * 300 + "b", "é" * 200, "x" * 10_000,
    "\ud800",
])
async def test_anything_but_an_unowned_shaman_checkout_is_refused(shaman_manager, checkout):
    manager = shaman_manager
    await make_checkout(manager, "proj/jobA")
    status, owner = await submit(manager, "proj/jobA")
    assert status == 200
    for endpoint in ("/api/v3/jobs", "/api/v3/jobs/check"):
        status, body = await submit(manager, checkout, endpoint)
        assert status == 400 and "checkout" in body["message"], body
        assert len(body["message"]) < 1000
    _, listed = await manager.request("GET", "/api/v3/jobs")
    assert [j["id"] for j in listed["jobs"]] == [owner["id"]]


@pytest.mark.parametrize("checkout", [123, 1.5, True, ["proj/jobA"], {"path": "proj/jobA"}])
async def test_a_checkout_id_that_is_not_a_string_is_refused(shaman_manager, checkout):
    status, body = await submit(shaman_manager, checkout)
    assert status == 400 and "shaman_checkout_id" in body["message"], body


async def test_a_symlink_to_a_checkout_is_not_a_checkout(shaman_manager, tmp_path):
    manager = shaman_manager
    await make_checkout(manager, "victim")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    (jobs_root(manager) / "alias").symlink_to(jobs_root(manager) / "victim")
    (jobs_root(manager) / "escape").symlink_to(outside)
    for checkout in ("alias", "escape", "escape/precious.txt"):
        status, body = await submit(manager, checkout)
        assert status == 400, body
    # Nor can the Shaman be made to build a checkout through them.
    for path in ("alias/new", "escape/new", "victim/nested"):
        sha = hashlib.sha256(b"blend file bytes").hexdigest()
        spec = {"files": [{"sha": sha, "size": 16, "path": "scene.blend"}], "checkoutPath": path}
        status, body = await manager.request("POST", CHECKOUT, json=spec)
        assert status == 409, (path, body)  # refused: it conflicts with what is on disk
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]
    assert sorted(p.name for p in (jobs_root(manager) / "victim").iterdir()) == ["scene.blend"]


async def test_without_shaman_a_checkout_id_is_refused(manager_factory):
    manager = await manager_factory(shaman_enabled=False)
    status, body = await submit(manager, "proj/jobA")
    assert status == 400 and "no Shaman" in body["message"]
    status, job = await submit(manager, "")  # none given: fine, as for the stock add-on
    assert status == 200 and "storage" not in job


async def _until_gone(manager, job_id: str, timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while (await manager.request("GET", f"/api/v3/jobs/{job_id}"))[0] != 404:
        assert asyncio.get_running_loop().time() < deadline, f"job {job_id} was not deleted"
        await asyncio.sleep(0.02)


async def test_deleting_a_job_erases_only_its_own_checkout(shaman_manager):
    manager = shaman_manager
    a = await make_checkout(manager, "proj/jobA")
    b = await make_checkout(manager, "proj/jobB")
    _, job_a = await submit(manager, a)
    _, job_b = await submit(manager, b)
    status, would = await manager.request("GET", f"/api/v3/jobs/{job_a['id']}/what-would-delete-do")
    assert status == 200 and would["shaman_checkout"] is True
    status, _ = await manager.request("DELETE", f"/api/v3/jobs/{job_a['id']}", admin=True)
    assert status == 204
    root = jobs_root(manager)
    await wait_for(lambda: not (root / "proj" / "jobA").exists(), timeout=20)
    # The folder goes first and the job after it: wait for the job too, on a busy machine it lags.
    await _until_gone(manager, job_a["id"])
    assert (root / "proj" / "jobB" / "scene.blend").read_bytes() == b"blend file bytes"
    status, _ = await manager.request("GET", f"/api/v3/jobs/{job_b['id']}")
    assert status == 200
    # The erased checkout is gone from the Shaman's records: no new job can claim its name.
    status, body = await submit(manager, a)
    assert status == 400 and "not a checkout made by" in body["message"]


async def test_checkout_records_and_ownership_survive_a_restart(manager_factory):
    first = await manager_factory(shaman_enabled=True)
    owned = await make_checkout(first, "owned")
    free = await make_checkout(first, "free")
    status, _ = await submit(first, owned)
    assert status == 200
    await first.stop()
    second = await manager_factory()  # same config folder, same store and shared storage
    status, body = await submit(second, owned)
    assert status == 400 and "already belongs" in body["message"]
    status, job = await submit(second, free)
    assert status == 200, job
