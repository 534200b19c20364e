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


async def test_at_the_hub_the_page_shows_sites_frames_and_words_and_acts_through_the_hub(hub_farm, tmp_path):
    from tests.hub.test_hub_site_reads import _jpeg

    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    site_a = await hub_farm.start_site("A")
    await hub_farm.start_site("B")
    ids = {}
    for site in ("A", "B"):
        status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(name=f"job at {site}", metadata={"site": site}))
        assert status == 200, job
        ids[site] = job["id"]
    nowhere = echo_job(name="job nowhere")
    nowhere["settings"]["render_output_root"] = "/srv/elsewhere/out"  # no site reaches it: it waits at the hub
    status, waiting = await hub.request("POST", "/api/v3/jobs", json=nowhere)
    assert status == 200 and waiting["site"] == "", waiting
    await site_a.services.last_rendered.submit(ids["A"], _jpeg(), "image/jpeg")

    async with Chromium() as browser:
        page = await open_page(browser, hub.url)
        # The Site column: shown at a hub, each job's site, or where it waits, in words.
        row = await wait_row(page, "jobs-table", "r.name === 'job at B'")
        assert row["site"] == "B", row
        assert (await wait_row(page, "jobs-table", "r.name === 'job at A'"))["site"] == "A"
        assert (await wait_row(page, "jobs-table", "r.name === 'job nowhere'"))["site"] == "waiting at the hub"
        assert await page.evaluate("getComputedStyle(document.querySelector('#jobs-table .vt-head .c-site'))"
                                   ".display") != "none"
        # A's frame, read from site A through the hub, in the list and on the job.
        await page.wait_for("[...document.querySelectorAll('#jobs-table .c-frame img')]"
                            ".some(i => !i.hidden && i.naturalWidth > 0)")
        await page.screenshot(tmp_path / "hub-jobs-list.png")
        await page.evaluate(f"location.hash = '#/jobs/{ids['A']}'")
        await page.wait_for("document.getElementById('job-frame-caption').textContent === 'Last rendered frame'")
        assert await page.evaluate("document.getElementById('job-frame-img').naturalWidth") > 0
        assert await page.text("#job-facts dd[data-fact='site']") == "A"
        await page.screenshot(tmp_path / "hub-status-page.png")

        # Admin actions with the hub's admin token, as on a Manager: pause job B at site B.
        await page.evaluate(f"location.hash = '#/jobs/{ids['B']}'")
        await page.wait_for("document.querySelector('#job-status').textContent === 'queued'")
        await page.click("#admin-button")
        await page.wait_for("document.querySelector('#token-dialog').open")
        await page.type("#token-input", hub.hub.admin_token)
        await page.press_enter()
        await page.wait_for("document.querySelector('#admin-button').textContent === 'Admin'")
        await page.wait_for("document.querySelectorAll('#job-actions button').length === 2")
        await page.click('#job-actions button[data-action="pause-requested"]')
        await page.wait_for("document.querySelector('#job-status').textContent === 'paused'")
        _, at_b = await hub_farm.sites["B"].request("GET", f"/api/v3/jobs/{ids['B']}")
        assert at_b["status"] == "paused"
        await page.click('#job-actions button[data-action="queued"]')
        await page.wait_for("document.querySelector('#job-status').textContent === 'queued'")
        # A task's action goes the same way; a frame site B gets now shows without a reload.
        await page.click("#tasks-table a[data-id]")
        await page.wait_for("document.querySelectorAll('#task-actions button').length === 1")
        await page.click('#task-actions button[data-action="canceled"]')
        await page.wait_for("document.querySelector('#task-status').textContent === 'canceled'")
        _, tasks_b = await hub_farm.sites["B"].request("GET", f"/api/v3/jobs/{ids['B']}/tasks")
        assert "canceled" in {t["status"] for t in tasks_b["tasks"]}
        assert await page.text("#job-frame-caption") == "No frame rendered yet"
        await hub_farm.sites["B"].services.last_rendered.submit(ids["B"], _jpeg(), "image/jpeg")
        await page.wait_for("document.getElementById('job-frame-caption').textContent === 'Last rendered frame'")

        # Site B away: its job's frame and ETA say so in words.
        await hub_farm.stop_site("B")
        await page.wait_for("document.querySelector('#job-facts dd[data-fact=\"eta\"]').title"
                            ".includes('site B is offline')", timeout=20)
        assert not page.exceptions and page.csp_violations == []
        # A Manager's own page (site A's) has no Site column: its jobs have no site.
        at_a = await open_page(browser, site_a.url)
        await wait_row(at_a, "jobs-table", "r.name === 'job at A'")
        assert await at_a.evaluate("getComputedStyle(document.querySelector('#jobs-table .vt-head .c-site'))"
                                   ".display") == "none"
        assert await at_a.evaluate("document.querySelector('#job-facts dd[data-fact=\"site\"]')") is None


async def test_at_the_hub_the_pages_task_table_and_a_tasks_log_follow_the_site_live(hub_farm):
    from tests.http_worker import HttpWorker

    hub = await hub_farm.start_hub()
    await hub_farm.join("A")
    await hub_farm.join("B")
    site_a = await hub_farm.start_site("A")
    status, job = await hub.request("POST", "/api/v3/jobs", json=echo_job(name="live at A", metadata={"site": "A"}))
    assert status == 200, job
    worker = await HttpWorker(site_a.url, "a-render", task_types=("misc",)).register_and_sign_on()
    try:
        async with Chromium() as browser:
            page = await open_page(browser, hub.url)
            await page.evaluate(f"location.hash = '#/jobs/{job['id']}'")
            await wait_row(page, "tasks-table", "r.status === 'queued'")
            status, task = await worker.claim()
            assert status == 200, task
            await wait_row(page, "tasks-table", "r.status === 'active'")
            # A task's own change at the site, which changes nothing of its job, shows without a reload.
            await worker.update(task["uuid"], activity="Rendering frame 4 at A")
            await wait_row(page, "tasks-table", "r.activity === 'Rendering frame 4 at A'")

            await page.click(f'#tasks-table a[data-id="{task["uuid"]}"]')
            await page.wait_for("document.querySelector('#task-title').textContent === 'echo'")
            await page.wait_for(f"location.hash.includes('{task['uuid']}')")
            await eventually_followed(hub, task["uuid"])
            await worker.update(task["uuid"], log="Fra:4 Mem:13M at site A\n")
            await page.wait_for("document.querySelector('#task-log').textContent.includes('Fra:4 Mem:13M at site A')")
            await worker.update(task["uuid"], log="Fra:5 Mem:14M\n")
            await page.wait_for("document.querySelector('#task-log').textContent.includes('Fra:5 Mem:14M')")
            assert not page.exceptions and page.csp_violations == []
    finally:
        await worker.close()


async def eventually_followed(hub, task_id: str) -> None:
    from tests.hub.conftest import eventually

    async def followed() -> bool:
        return hub.hub.feed.followed.get(task_id) == "A"

    await eventually(followed, what="the page's follow of the task's log reaching site A")
