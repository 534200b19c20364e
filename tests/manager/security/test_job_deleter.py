"""The job deleter: a poisoned or stuck job never holds up the deletions queued after it.

Against a real Manager with the Shaman on. Poisoned jobs carry a `shaman_checkout_id` that
submission now refuses but an older store may hold (written straight into the database here).
A stuck job's checkout really cannot be removed (made immutable with `chattr +i`), or, where the
file system does not allow that, its clean-up step is made to fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from app.manager.persistence.models import Job
from app.manager.scheduling.background import JobDeleter
from tests.conftest import echo_job
from tests.manager.security.test_checkout_ownership import jobs_root, make_checkout, submit


async def submit_poisoned(manager, checkout_id: str) -> str:
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job())
    assert status == 200

    def poison() -> None:
        Job.update(storage_shaman_checkout_id=checkout_id).where(Job.uuid == job["id"]).execute()

    await manager.services.store.call(poison)
    return job["id"]


async def gone(manager, job_id: str) -> bool:
    status, _ = await manager.request("GET", f"/api/v3/jobs/{job_id}")
    return status == 404


async def wait_gone(manager, job_ids: list[str]) -> None:
    for job_id in job_ids:
        for _ in range(400):
            if await gone(manager, job_id):
                break
            await asyncio.sleep(0.05)
        assert await gone(manager, job_id), f"job {job_id} was not deleted"


def deleter_of(manager) -> JobDeleter:
    return next(svc for svc in manager.services.background if isinstance(svc, JobDeleter))


async def test_poisoned_checkout_ids_do_not_block_later_deletions(manager_factory, tmp_path, caplog):
    caplog.set_level(logging.INFO)
    manager = await manager_factory(shaman_enabled=True)
    root = jobs_root(manager)
    outside = tmp_path / "x"  # what `../../x` means from the jobs root
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    kept_checkout = await make_checkout(manager, "proj/jobB")
    _, survivor = await submit(manager, kept_checkout)
    bad_ids = ["../../x", "{'an': 'object'}", "proj", "/etc", str(outside), "proj/jobB"]
    if manager.services.store.is_sqlite:  # PostgreSQL cannot store these at all (NUL, over 255)
        bad_ids += ["proj\x00", "x" * 300]
    poisoned = [await submit_poisoned(manager, bad) for bad in bad_ids]
    good = []
    for n in range(3):
        checkout = await make_checkout(manager, f"good/job-{n}")
        status, job = await submit(manager, checkout)
        assert status == 200
        good.append((job["id"], checkout))
    for job_id in poisoned[:5]:  # deleting them erases nothing, and the Manager says so
        status, would = await manager.request("GET", f"/api/v3/jobs/{job_id}/what-would-delete-do")
        assert status == 200 and would == {"shaman_checkout": False}
    for job_id in poisoned + [g for g, _ in good]:
        status, _ = await manager.request("DELETE", f"/api/v3/jobs/{job_id}", admin=True)
        assert status == 204
    await wait_gone(manager, [g for g, _ in good] + poisoned)
    assert not any((root / checkout).exists() for _, checkout in good)
    assert (outside / "precious.txt").read_text() == "keep me"
    assert (root / "proj" / "jobB" / "scene.blend").exists()  # the survivor's checkout is untouched
    status, _ = await manager.request("GET", f"/api/v3/jobs/{survivor['id']}")
    assert status == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _immutable(path: Path, on: bool) -> bool:
    if not shutil.which("chattr"):
        return False
    result = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    return result.returncode == 0


@pytest.mark.parametrize("how", ["immutable checkout", "failing clean-up step"])
async def test_a_stuck_job_is_reported_once_retried_and_does_not_hold_up_others(
        manager_factory, caplog, monkeypatch, how):
    caplog.set_level(logging.DEBUG, logger="app.manager.scheduling.background")
    manager = await manager_factory(shaman_enabled=True)
    deleter = deleter_of(manager)
    deleter.retry_delay = 0.0  # retry on every pass, so the test need not wait
    stuck_checkout = await make_checkout(manager, "stuck")
    _, stuck = await submit(manager, stuck_checkout)
    stuck_dir = jobs_root(manager) / stuck_checkout
    stuck_on = True
    if how == "immutable checkout":
        if not _immutable(stuck_dir, True):
            pytest.skip("this file system cannot make a folder immutable (chattr +i)")
    else:
        real_remove = deleter.remove_job_files

        async def remove(job_uuid: str) -> None:
            if stuck_on and job_uuid == stuck["id"]:
                raise OSError(f"Device or resource busy: storage of {job_uuid}")
            await real_remove(job_uuid)

        monkeypatch.setattr(deleter, "remove_job_files", remove)
    try:
        good = []
        for n in range(3):
            _, job = await submit(manager, await make_checkout(manager, f"good-{n}"))
            good.append(job["id"])
        for job_id in [stuck["id"], *good]:
            status, _ = await manager.request("DELETE", f"/api/v3/jobs/{job_id}", admin=True)
            assert status == 204
        await wait_gone(manager, good)  # not held up by the stuck job queued before them

        for _ in range(3):  # later passes retry it, and stay quiet about the same cause
            assert await deleter.delete_pending() == 0
        retries = [r for r in caplog.records if "failed again" in r.getMessage()]
        assert len(retries) >= 3 and all(r.levelno == logging.DEBUG for r in retries)
        errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert len(errors) == 1 and stuck["id"] in errors[0].getMessage(), errors
        assert stuck["id"] in deleter.failures()
        status, job = await manager.request("GET", f"/api/v3/jobs/{stuck['id']}")
        assert status == 200 and job["activity"].startswith("Deleting this job failed, will retry")
    finally:
        stuck_on = False
        if how == "immutable checkout":
            with contextlib.suppress(Exception):
                _immutable(stuck_dir, False)
    assert await deleter.delete_pending() == 1  # the cause is gone: the retry succeeds
    assert await gone(manager, stuck["id"]) and not stuck_dir.exists()
    assert deleter.failures() == {}
    assert any("after earlier failures" in r.getMessage() for r in caplog.records)
