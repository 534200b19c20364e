"""A hub process killed with SIGKILL while a job waits at it because no site reaches its files: after
the restart the job still waits and says why in words, a site that cannot reach the files does not
take it when it reconnects, and it goes out to the first site that connects reaching them."""

from __future__ import annotations

import pytest

from tests.conftest import RunningManager, echo_job, make_config
from tests.e2e.farm import free_port, wait_for
from tests.hub.hub_process import HubProcess, add_site, write_hub_config
from tests.hub.test_hub_farm import Hub

pytestmark = pytest.mark.slow  # a hub process, killed and started again


async def _site(root, name: str, hub_port: int, token: str, **overrides) -> RunningManager:
    cfg = make_config(root, manager_name=f"site {name}", extra={
        "hub_url": f"http://127.0.0.1:{hub_port}/", "hub_site": name, "hub_token": token}, **overrides)
    return await RunningManager(cfg).start()


async def test_a_job_waiting_for_storage_survives_a_hub_kill_and_goes_to_the_site_that_reaches_it(tmp_path):
    hub_port = free_port()
    config = write_hub_config(tmp_path / "hub", hub_port, sites=("A", "C"))
    tokens = {name: add_site(config, name) for name in ("A", "C")}
    hub_proc, hub = HubProcess(config).start(), Hub(hub_port)
    sites: dict[str, RunningManager] = {}

    async def online(name: str) -> bool:
        status, body = await hub.request("GET", "/api/v3/tablao/hub/sites")
        return status == 200 and any(s["name"] == name and s["online"] for s in body["sites"])

    async def shown() -> dict:
        status, job = await hub.request("GET", f"/api/v3/jobs/{waiting['id']}")
        assert status == 200, job
        return job

    try:
        await wait_for(hub.up, 30, what="the hub to listen")
        sites["A"] = await _site(tmp_path / "site-A", "A", hub_port, tokens["A"])
        await wait_for(lambda: online("A"), 30, what="site A online at the hub")
        job = echo_job(name="in place elsewhere")
        job["settings"]["render_output_root"] = "/srv/elsewhere/out"
        status, waiting = await hub.request("POST", "/api/v3/jobs", json=job)
        assert status == 200 and waiting["site"] == "" and waiting["hub"]["state"] == "waiting", waiting

        hub_proc.kill9()
        hub_proc = HubProcess(config).start()
        await wait_for(hub.up, 30, what="the hub to listen again")
        await wait_for(lambda: online("A"), 60, what="site A back at the restarted hub")
        after = await shown()
        assert after["site"] == "" and after["hub"]["state"] == "waiting", after
        why = after["hub"]["why"]
        assert why.startswith("waiting at the hub: no site reaches this job's files"), why
        assert "/srv/elsewhere/out" in why and "A cannot reach" in why, why
        assert after["activity"] == why
        status, at_a = await sites["A"].request("GET", f"/api/v3/jobs/{waiting['id']}")
        assert status == 404, at_a  # A reconnected and still cannot reach it: not sent there

        sites["C"] = await _site(tmp_path / "site-C", "C", hub_port, tokens["C"], variables={"elsewhere": {
            "is_twoway": True, "values": [{"platform": "linux", "value": "/srv/elsewhere"}]}})

        async def at_c() -> bool:
            status, _ = await sites["C"].request("GET", f"/api/v3/jobs/{waiting['id']}")
            return status == 200
        await wait_for(at_c, 30, what="the waiting job at site C")
        routed = await shown()
        assert routed["site"] == "C" and routed["hub"]["state"] == "delivered", routed
        assert "C:" in routed["hub"]["route_reason"], routed
    except BaseException:
        print(hub_proc.output()[-4000:])
        raise
    finally:
        for site in sites.values():
            await site.stop()
        hub_proc.stop()
