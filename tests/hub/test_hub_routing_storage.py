"""A real hub and two site Managers on 127.0.0.1: each site tells the hub what shared storage it
reaches, and a job with its files in place goes only to a site that reaches them."""

from __future__ import annotations

from tests.conftest import echo_job
from tests.hub.conftest import eventually


def _in_place(name: str, folder: str, **extra) -> dict:
    job = echo_job(name, **extra)
    job["settings"]["render_output_root"] = folder
    return job


async def test_a_job_in_place_goes_only_to_the_site_that_reaches_its_folder(hub_farm):
    hub = await hub_farm.start_hub(sites=("A", "B", "C"))
    await hub_farm.join("A")
    await hub_farm.join("B")
    await hub_farm.start_site("A")
    site_b = await hub_farm.start_site("B")
    shared_b = site_b.cfg.shared_storage_path

    async def both_said() -> bool:
        return all(hub.hub.sites.states[n].info.get("storage") for n in ("A", "B"))
    await eventually(both_said, what="both sites' storage known at the hub")
    assert hub.hub.sites.states["B"].info["storage"][0]["path"] == shared_b

    # Chosen: A would win the tie by name, so landing on B shows the storage decided.
    status, chosen = await hub.request("POST", "/api/v3/jobs", json=_in_place("in B's storage", f"{shared_b}/out"))
    assert status == 200, chosen
    assert chosen["site"] == "B", chosen["hub"]
    status, at_b = await site_b.request("GET", f"/api/v3/jobs/{chosen['id']}")
    assert status == 200, at_b

    # Named for a site that cannot reach it: a 400 in words, and nothing kept at the hub.
    status, refused = await hub.request("POST", "/api/v3/jobs",
                                        json=_in_place("for A", f"{shared_b}/out", metadata={"site": "A"}))
    assert status == 400, refused
    assert f"A cannot reach '{shared_b}/out'" in refused["message"], refused

    # No site reaches it: it waits at the hub, saying why in words.
    status, nowhere = await hub.request("POST", "/api/v3/jobs", json=_in_place("nowhere", "/srv/elsewhere/out"))
    assert status == 200, nowhere
    assert nowhere["site"] == "" and nowhere["hub"]["state"] == "waiting", nowhere
    why = nowhere["hub"]["why"]
    assert why.startswith("waiting at the hub: no site reaches this job's files") and "/srv/elsewhere/out" in why
    assert "A cannot reach '/srv/elsewhere/out'" in why and shared_b in why

    status, listing = await hub.request("GET", "/api/v3/jobs")
    assert {job["id"] for job in listing["jobs"]} == {chosen["id"], nowhere["id"]}

    # A site whose two-way variable covers the folder joins: the job goes there.
    await hub_farm.join("C")
    site_c = await hub_farm.start_site("C", variables={"elsewhere": {"is_twoway": True, "values": [
        {"platform": "linux", "value": "/srv/elsewhere"}]}})

    async def at_c() -> bool:
        status, job = await site_c.request("GET", f"/api/v3/jobs/{nowhere['id']}")
        return status == 200
    await eventually(at_c, what="the waiting job at site C")
    status, routed = await hub.request("GET", f"/api/v3/jobs/{nowhere['id']}")
    assert routed["site"] == "C", routed
    assert "C:" in routed["hub"]["route_reason"]
