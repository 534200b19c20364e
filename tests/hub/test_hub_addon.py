"""Tablao's add-on in a real Blender pointed at a hub: the Site field lists the hub's sites, a job
goes to the site chosen there, and the same .blend sent to the other site uploads nothing again."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named

pytestmark = [needs_blender, pytest.mark.slow]


def _configure(tmp_path: Path, site: str) -> tuple:
    return ("configure", {"job_name": f"{{blend}} for {site}", "site": site,
                          "settings": {"render_output_root": str(tmp_path / "render"), "chunk_size": 3}})


async def test_the_addon_site_field_sends_the_job_there_and_files_travel_once(hub_farm, tmp_path: Path):
    hub = await hub_farm.start_hub(shaman=True)
    for name in ("A", "B"):
        await hub_farm.join(name)
        await hub_farm.start_site(name, output_roots=[str(tmp_path / "render")])  # one output folder for both
    result = await run_blender(tmp_path, {
        "url": hub.url, "project": str(tmp_path / "work" / "film"),
        "steps": [("check_connection",), ("refresh",), _configure(tmp_path, "B"), ("preflight",), ("submit",),
                  _configure(tmp_path, "A"), ("submit",)],
    }, timeout=240)
    assert steps_named(result, "refresh")[0]["sites"] == ["A", "B"]
    to_b, to_a = steps_named(result, "submit")
    assert to_b["result"] == ["FINISHED"], to_b["message"]
    assert "uploaded 2 of 2 files" in to_b["message"], to_b["message"]
    assert to_a["result"] == ["FINISHED"], to_a["message"]
    assert "uploaded 0 of 2 files" in to_a["message"], "the same .blend to the other site: nothing uploaded"
    for submitted, site in ((to_b, "B"), (to_a, "A")):
        status, job = await hub.request("GET", f"/api/v3/jobs/{submitted['job_id']}")
        assert status == 200 and job["site"] == site and job["hub"]["state"] == "delivered", job
        assert job["hub"]["route_reason"].startswith("named by the job")
        status, at_site = await hub_farm.sites[site].request("GET", f"/api/v3/jobs/{submitted['job_id']}")
        assert status == 200 and at_site["settings"]["blendfile"].endswith("/shot.blend")
    status, sites = await hub.request("GET", "/api/v3/tablao/hub/sites")
    sent = {s["name"]: s["files_sent"]["bytes"] for s in sites["sites"]}
    assert sent["A"] == sent["B"] > 0, "each site fetched the files once"
