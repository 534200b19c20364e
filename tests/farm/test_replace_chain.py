"""`farm replace job` on a job that others wait for: they wait for the new job, with their own choices.

A real Manager, no worker (the jobs stay queued), Debian's Blender to make and read the release's file.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import echo_job


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("blender") is None, reason="needs Debian's blender")
async def test_replace_moves_the_jobs_waiting_for_it_to_the_new_job(manager, run_farm, tmp_path: Path):
    from tests.e2e.farm import MAKE_BLEND

    store = tmp_path / "shared" / "releases" / "r1" / "store"
    store.mkdir(parents=True)
    script = MAKE_BLEND.format(adaptive=True, samples=1, width=16, height=8, frames=1, path=store / "alpha.blend")
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr", script], capture_output=True,
                   timeout=180, check=True)
    url = ("--manager", manager.url)
    planned = await run_farm("plan", "release", "r1", "--json", *url)
    assert planned.code == 0, planned.err
    old = planned.json["submitted"][0]["id"]
    encode = echo_job(name="encode r1", depends_on=[old], on_dependency_failure="fail")
    _, fails = await manager.request("POST", "/api/v3/jobs", json=encode)
    _, waits = await manager.request("POST", "/api/v3/jobs", json=echo_job(name="upload r1", depends_on=[old]))

    replaced = await run_farm("replace", "job", "alpha", "--json", *url)
    assert replaced.code == 0, replaced.err
    new = replaced.json["id"]
    assert sorted(replaced.json["dependants"]) == ["encode r1", "upload r1"]
    assert (await manager.request("GET", f"/api/v3/jobs/{old}"))[1]["status"] == "canceled"
    for dependant, choice in ((fails, "fail"), (waits, "wait")):
        _, job = await manager.request("GET", f"/api/v3/jobs/{dependant['id']}")
        assert job["status"] == "queued" and job["waiting_on"] == 1
        assert job["activity"] == "Waiting for 'r1.alpha'"
        _, chain = await manager.request("GET", f"/api/v3/tablao/jobs/{dependant['id']}/chain")
        assert [link["id"] for link in chain["depends_on"]] == [new]
        assert chain["on_dependency_failure"] == choice
