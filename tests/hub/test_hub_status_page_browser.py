"""The status page served by the hub, in a real headless Chromium: it reads the hub's API and shows
the jobs of every site."""

from __future__ import annotations

import aiohttp
import pytest

from tests.chromium import Chromium, have_chromium
from tests.conftest import echo_job
from tests.manager.test_status_page_browser import open_page, rows, wait_row

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian's chromium (bash .ci/run installs it)"),
]


async def test_the_hub_serves_the_status_page_with_every_sites_jobs(hub_farm):
    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    await hub_farm.start_site("A")
    await hub_farm.start_site("B")
    ids = {}
    for site in ("A", "B"):
        status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(name=f"job at {site}", metadata={"site": site}))
        assert status == 200, job
        ids[site] = job["id"]
    # The page's files keep the Manager's rules at the hub: plain names only, its Host only.
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{hub.url}/ui/..%2Fweb.py") as resp:
            assert resp.status == 404
        async with http.get(f"{hub.url}/", headers={"Host": "evil.example:80"}) as resp:
            assert resp.status in (400, 403, 421), resp.status
        async with http.get(f"{hub.url}/") as resp:
            assert resp.status == 200 and "script-src 'self'" in resp.headers["Content-Security-Policy"]
    async with Chromium() as browser:
        page = await open_page(browser, hub.url)
        for site in ("A", "B"):
            await wait_row(page, "jobs-table", f"r.name === 'job at {site}'")
        shown = {row["name"] for row in await rows(page, "jobs-table")}
        assert shown == {"job at A", "job at B"}
        # A job opened from the hub: its facts and tasks come through the hub from its site.
        await page.evaluate(f"location.hash = '#/jobs/{ids['B']}'")
        await page.wait_for("document.getElementById('job-name').textContent === 'job at B'")
        assert await page.text("#job-facts dd[data-fact='type']") == "echo-sleep-test"
        task = await wait_row(page, "tasks-table", "r.status === 'queued'")
        assert task["name"], task
        assert page.csp_violations == []
