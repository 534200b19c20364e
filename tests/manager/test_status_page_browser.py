"""The status page in a real headless Chromium, on a real Manager, with a scripted worker moving tasks.

Each test opens the Manager's address in Debian's `chromium` (tests/chromium.py drives it over the
DevTools protocol) and reads what a person would see: rows of the job, task and worker tables,
the facts of a job, the log tail, the words of the connection state and the offered actions.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from tests.chromium import Chromium, have_chromium
from tests.conftest import echo_job
from tests.http_worker import HttpWorker
from tests.sim_workers import SimWorker, workers_of
from tests.sim_workers import run_job as sim_run_job

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not have_chromium(), reason="needs Debian's chromium (bash .ci/run installs it)"),
]

ACCESS = "s3cret-access-token"


@pytest.fixture
async def browser():
    async with Chromium() as chromium:
        yield chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def open_page(browser, url: str, **viewport):
    page = await browser.new_page(**viewport)
    await page.goto(url)
    await page.wait_for("document.body.dataset.link === 'live'")
    return page


def rows_js(table: str) -> str:
    """The visible rows of a table as {cell class: text}, in the order shown."""
    return f"""[...document.querySelectorAll('#{table} .vt-body-row:not([hidden])')]
        .sort((a, b) => a.getBoundingClientRect().top - b.getBoundingClientRect().top)
        .map(r => Object.fromEntries([...r.children].map(c => [c.className.split(' ')[1].slice(2), c.textContent])))"""


async def rows(page, table: str) -> list[dict[str, str]]:
    return await page.evaluate(rows_js(table))


async def wait_row(page, table: str, condition: str, timeout: float = 15) -> dict[str, str]:
    """The first row of `table` for which the JS `condition` (over `r`, a row's cells) holds."""
    return await page.wait_for(f"({rows_js(table)}).find(r => {condition})", timeout)


async def fact(page, name: str) -> str:
    return await page.text(f'#job-facts dd[data-fact="{name}"]')


async def submit(manager, name: str, repeats: int = 2, **extra) -> dict:
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(name=name, repeats=repeats, **extra))
    assert status == 200, job
    return job


async def run_job(worker: HttpWorker, job_id: str) -> None:
    """Claim and complete every task of the farm's queue (the test's only job left)."""
    for _ in range(50):
        status, task = await worker.claim()
        if status != 200:
            return
        assert task["job"] == job_id
        await worker.update(task["uuid"], taskStatus="active", activity="Working", stepsCompleted=0, stepsTotal=1)
        await worker.complete(task["uuid"])


# --- what the page shows ---------------------------------------------------------------------------

async def test_the_page_shows_jobs_tasks_workers_and_a_live_log_tail(manager, browser):
    meta = {"user.name": "alice", "user.host": "studio-pc"}
    job = await submit(manager, "shot_010 lighting", repeats=3, metadata=meta)
    await submit(manager, "shot_020 anim", metadata={"user.name": "bob"})
    worker = await HttpWorker(manager.url, "render-01").register_and_sign_on()
    try:
        _, task = await worker.claim()
        await worker.update(task["uuid"], taskStatus="active", activity="Rendering frame 3",
                            log="Blender 3.4 starting\nFra:3 Mem:12M\n")
        page = await open_page(browser, manager.url + "/")
        await page.wait_for("document.querySelector('#jobs-table').dataset.rows === '2'")
        row = await wait_row(page, "jobs-table", "r.name === 'shot_010 lighting'")
        assert row["status"] == "active" and row["submitter"] == "alice@studio-pc"
        assert row["frames"] == "0 / 4 steps" and row["progress"] == "0%"
        assert row["created"] and row["updated"] and row["elapsed"].endswith("s")
        assert row["eta"] == "—"  # no finished task yet to estimate from
        other = await wait_row(page, "jobs-table", "r.name === 'shot_020 anim'")
        assert other["status"] == "queued" and other["submitter"] == "bob"

        await page.click(f'#jobs-table a[data-id="{job["id"]}"]')
        await page.wait_for(f"location.hash === '#/jobs/{job['id']}'")
        await page.wait_for("document.querySelector('#tasks-table').dataset.rows === '4'")
        task_row = await wait_row(page, "tasks-table", "r.status === 'active'")
        assert task_row["name"] == "echo" and task_row["worker"] == "render-01"
        assert task_row["activity"] == "Rendering frame 3"
        assert await fact(page, "submitter") == "alice@studio-pc"
        assert "became active" in await fact(page, "activity")  # the Manager's own words, as it says them

        await page.click(f'#tasks-table a[data-id="{task["uuid"]}"]')
        await page.wait_for("document.querySelector('#task-log').textContent.includes('Fra:3 Mem:12M')")
        assert await page.text("#task-title") == "echo"
        await worker.update(task["uuid"], taskStatus="active", activity="Rendering frame 4", log="Fra:4 Mem:13M\n")
        await page.wait_for("document.querySelector('#task-log').textContent.includes('Fra:4 Mem:13M')")
        await page.wait_for("document.querySelector('#task-activity').textContent.startsWith('Rendering frame 4')")

        await page.click("#tab-workers")
        w = await wait_row(page, "workers-table", "r.name === 'render-01'")
        assert w["status"] == "awake" and w["task"] == "shot_010 lighting › echo · 0%"
        assert w["seen"] == "just now" and w["platform"] == "linux" and w["version"] == "test"
        assert not page.exceptions and not page.console_errors and not page.csp_violations
    finally:
        await worker.close()


async def test_the_page_shows_the_managers_eta_of_a_job_none_of_whose_tasks_finished(manager, browser):
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        first = await submit(manager, "shot_010", repeats=3)
        await sim_run_job(manager, first["id"], [SimWorker(http, 0.3)])
        waiting = await submit(manager, "shot_020", repeats=3)
        _, job = await manager.request("GET", f"/api/v3/jobs/{waiting['id']}")
        page = await open_page(browser, manager.url + "/")
        row = await wait_row(page, "jobs-table", "r.name === 'shot_020' && r.eta !== '—'")
        await page.click(f'#jobs-table a[data-id="{waiting["id"]}"]')
        await page.wait_for(f"location.hash === '#/jobs/{waiting['id']}'")
        await page.wait_for("(document.querySelector('#job-facts dd[data-fact=\"eta\"]')?.textContent || '—')"
                            " !== '—'")
        shown = await fact(page, "eta")
        assert not page.exceptions and not page.console_errors and not page.csp_violations
    finally:
        await http.close()
    # 4 tasks of about 0.3 s, one worker: the Manager says about 1 s, and so does the page (counting down).
    seconds = job["eta"]["seconds"]
    assert 0.8 < seconds < 2.5 and job["eta"]["source"] == "type"
    for text in (row["eta"], shown):
        first_figure = int(text.split(" ")[0])
        assert text.endswith(" s)") and round(seconds) - 2 <= first_figure <= round(seconds), text


VITALS = {"cpu_percent": 87.4, "render_cpu_percent": 80, "cpu_count": 16, "memory_used": 12 << 30,
          "memory_total": 64 << 30, "render_memory": 9 << 30, "blender_version": "4.2.1", "frame": 12, "sample": 64,
          "samples_total": 128, "gpus": [{"name": "NVIDIA RTX A4000", "percent": 97}, {"name": "NVIDIA T400"}]}
VITALS_COLUMNS = ("cpu", "memory", "gpu", "blender", "render")


async def test_the_worker_list_shows_vitals_live_and_a_dash_for_a_worker_that_sends_none(manager, browser, tmp_path):
    await submit(manager, "shot_040 fx", repeats=3)
    worker = await HttpWorker(manager.url, "render-01").register_and_sign_on()
    stock = await HttpWorker(manager.url, "flamenco-01").register_and_sign_on()
    try:
        _, task = await worker.claim()
        await worker.update(task["uuid"], taskStatus="active", activity="Rendering")
        status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals", json=VITALS)
        assert status == 204
        page = await open_page(browser, manager.url + "/#/workers", width=1700, height=500)
        w = await wait_row(page, "workers-table", "r.name === 'render-01' && r.cpu !== '—'")
        assert w["cpu"] == "87% of 16" and w["memory"] == "12 / 64 GiB"
        cpu_title = await page.evaluate("[...document.querySelectorAll('#workers-table .vt-body-row')].find("
                                        "r => r.querySelector('.c-name').textContent === 'render-01')"
                                        ".querySelector('.c-cpu').title")
        assert cpu_title == "the machine uses 87% of 16 logical CPUs; the worker and its renders 80%"
        assert w["gpu"] == "NVIDIA RTX A4000 · 97% +1" and w["blender"] == "4.2.1"
        assert w["render"] == "frame 12 · 64/128 samples"
        s = await wait_row(page, "workers-table", "r.name === 'flamenco-01'")
        assert [s[c] for c in VITALS_COLUMNS] == ["—"] * 5  # sends none: a dash, not 0

        # A new report arrives by the event stream, with no reload.
        status, _ = await worker.call("POST", "/api/v3/tablao/worker/vitals",
                                      json={**VITALS, "frame": 13, "sample": 1, "cpu_percent": 12})
        assert status == 204
        w = await wait_row(page, "workers-table", "r.name === 'render-01' && r.render === 'frame 13 · 1/128 samples'")
        assert w["cpu"] == "12% of 16"

        # The task ends: its frame goes with it, though the last report still names one.
        await worker.complete(task["uuid"])
        w = await wait_row(page, "workers-table", "r.name === 'render-01' && r.task === '—'")
        assert w["render"] == "—" and w["cpu"] == "12% of 16"
        shot = await page.screenshot(tmp_path / "workers.png")
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

        # Offline: the last report is no truth about the machine any more.
        status, _ = await worker.call("POST", "/api/v3/worker/sign-off")
        assert status == 204
        w = await wait_row(page, "workers-table", "r.name === 'render-01' && r.status.startsWith('offline')")
        assert [w[c] for c in VITALS_COLUMNS] == ["—"] * 5
        assert not page.exceptions and not page.console_errors and not page.csp_violations
    finally:
        await worker.close()
        await stock.close()


async def test_a_job_completed_while_the_page_is_open_updates_live(manager, browser):
    job = await submit(manager, "shot_030 comp", repeats=2)
    worker = await HttpWorker(manager.url, "render-02").register_and_sign_on()
    try:
        _, first = await worker.claim()
        await worker.update(first["uuid"], taskStatus="active", activity="Working")
        page = await open_page(browser, f"{manager.url}/#/jobs/{job['id']}")
        await page.evaluate("window.stillTheSamePage = true")
        await page.wait_for("document.querySelector('#job-status').textContent === 'active'")
        assert "became active" in await fact(page, "activity")
        await page.click("#tab-workers")
        await wait_row(page, "workers-table", "r.task.includes('echo')")
        await page.goto(f"{manager.url}/#/jobs/{job['id']}")  # a change of #fragment: no reload

        await worker.complete(first["uuid"])
        await run_job(worker, job["id"])
        await page.wait_for("document.querySelector('#job-status').textContent === 'completed'", 15)
        await page.wait_for("!document.querySelector('#job-facts [data-fact=activity]').textContent"
                            ".includes('became active')")
        assert "completed" in await fact(page, "activity")
        assert await fact(page, "eta") == "done" and await fact(page, "progress") == "100%"
        tasks = await rows(page, "tasks-table")
        assert [t["status"] for t in tasks] == ["completed"] * 3
        row = await wait_row(page, "jobs-table", "r.name === 'shot_030 comp'")
        assert row["status"] == "completed" and row["eta"] == "done" and row["progress"] == "100%"
        await page.click("#tab-workers")
        w = await wait_row(page, "workers-table", "r.name === 'render-02'")
        assert w["task"] == "—"  # idle: not its last task
        assert await page.evaluate("window.stillTheSamePage") is True
    finally:
        await worker.close()


async def test_a_lost_manager_is_said_and_the_page_catches_up_when_it_is_back(manager_factory, browser):
    port, elsewhere = free_port(), free_port()
    manager = await manager_factory(listen=f"127.0.0.1:{port}")
    first = await submit(manager, "before the outage")
    page = await open_page(browser, manager.url + "/")
    await wait_row(page, "jobs-table", "r.name === 'before the outage' && r.status === 'queued'")
    await manager.stop()
    await page.wait_for("document.body.dataset.link === 'disconnected'", 10)
    words = await page.text("#link-state")
    assert words.startswith("disconnected") and "reconnecting in" in words, words
    assert await page.evaluate("document.body.dataset.stale") == "yes"  # what is shown may be old

    # While the page cannot see it, the farm changes (the same store, served on another port).
    away = await manager_factory(listen=f"127.0.0.1:{elsewhere}")
    await submit(away, "submitted during the outage")
    status, _ = await away.request("POST", f"/api/v3/jobs/{first['id']}/setstatus",
                                   json={"status": "cancel-requested", "reason": "test"})
    assert status == 204
    await away.stop()

    await manager_factory(listen=f"127.0.0.1:{port}")
    await page.wait_for("document.body.dataset.link === 'live'", 20)
    await wait_row(page, "jobs-table", "r.name === 'submitted during the outage'")
    await wait_row(page, "jobs-table", "r.name === 'before the outage' && r.status === 'canceled'")
    assert await page.evaluate("document.body.dataset.stale") is None


async def test_a_skipped_event_number_makes_the_page_fetch_everything_again(manager, browser):
    from app.manager.persistence.models import Job

    job = await submit(manager, "named once")
    page = await open_page(browser, manager.url + "/")
    await wait_row(page, "jobs-table", "r.name === 'named once'")
    # The store changes behind the event stream's back: only a fresh snapshot can show it.
    await manager.services.store.call(
        lambda: Job.update(name="renamed behind its back").where(Job.uuid == job["id"]).execute())
    await asyncio.sleep(0.3)
    assert (await rows(page, "jobs-table"))[0]["name"] == "named once"
    await page.evaluate("tablao.live._message(JSON.stringify({type: 'farm_status_did_change',"
                        " seq: tablao.live.seq + 3, data: {status: 'idle'}}))")
    await wait_row(page, "jobs-table", "r.name === 'renamed behind its back'")
    await page.wait_for("document.body.dataset.link === 'live'")


# --- actions and tokens ---------------------------------------------------------------------------

async def test_without_the_admin_token_no_action_is_offered_and_with_it_pause_works(manager, browser):
    job = await submit(manager, "shot_040 fx")
    page = await open_page(browser, f"{manager.url}/#/jobs/{job['id']}")
    await page.wait_for("document.querySelector('#job-status').textContent === 'queued'")
    await page.click("#tasks-table a[data-id]")
    await page.wait_for("document.querySelector('#task-status').textContent === 'queued'")
    assert await page.evaluate("document.querySelectorAll('button[data-action]').length") == 0
    assert await page.text("#admin-button") == "Read-only"

    await page.click("#admin-button")
    await page.wait_for("document.querySelector('#token-dialog').open")
    await page.type("#token-input", "not-the-token")
    await page.click("#token-ok")
    await page.wait_for("document.querySelector('#token-error').textContent.includes('refused')")
    assert await page.evaluate("localStorage.getItem('tablao.adminToken')") is None
    await page.evaluate("document.querySelector('#token-input').value = ''")
    await page.type("#token-input", manager.services.admin_token)
    await page.press_enter()
    await page.wait_for("!document.querySelector('#token-dialog').open")
    assert await page.text("#admin-button") == "Admin"
    await page.wait_for("document.querySelectorAll('#job-actions button').length === 2")
    offered = await page.evaluate("[...document.querySelectorAll('#job-actions button')].map(b => b.textContent)")
    assert offered == ["Pause", "Cancel"]  # a queued job cannot be resumed or requeued
    assert await page.evaluate("[...document.querySelectorAll('#task-actions button')].map(b => b.textContent)") \
        == ["Cancel task"]

    await page.click('#job-actions button[data-action="pause-requested"]')
    await page.wait_for("document.querySelector('#job-status').textContent === 'paused'")
    _, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert fetched["status"] == "paused"
    await page.wait_for("[...document.querySelectorAll('#job-actions button')].map(b => b.textContent).join() "
                        "=== 'Resume,Cancel,Requeue'")

    # Kept for this address: a new visit offers the actions again without asking.
    again = await open_page(browser, f"{manager.url}/#/jobs/{job['id']}")
    await again.wait_for("document.querySelectorAll('#job-actions button').length === 3")
    assert not page.dialogs and not page.exceptions and not again.exceptions


async def test_an_access_token_is_asked_for_once_and_kept(manager_factory, browser):
    manager = await manager_factory(access_token=ACCESS)
    await manager.request("POST", "/api/v3/jobs", json=echo_job(name="guarded"),
                          headers={"Authorization": f"Bearer {ACCESS}"})
    page = await browser.new_page()
    await page.goto(manager.url + "/")
    await page.wait_for("document.querySelector('#token-dialog').open && "
                        "document.querySelector('#token-dialog').dataset.kind === 'access'")
    assert await page.evaluate("document.querySelector('#jobs-table').dataset.rows || '0'") == "0"
    assert await page.text("#link-state") == "needs the access token"
    await page.click("#token-cancel")  # closed without it: the words at the top ask again
    await page.wait_for("!document.querySelector('#token-dialog').open")
    await page.click("#link-state")
    await page.wait_for("document.querySelector('#token-dialog').open")
    await page.type("#token-input", ACCESS)
    await page.press_enter()
    await page.wait_for("document.body.dataset.link === 'live'", 15)  # the event stream opened too
    await wait_row(page, "jobs-table", "r.name === 'guarded'")
    again = await open_page(browser, manager.url + "/")
    await wait_row(again, "jobs-table", "r.name === 'guarded'")
    assert not await again.evaluate("document.querySelector('#token-dialog').open")


# --- security -------------------------------------------------------------------------------------

XSS = '<img src=x onerror="window.xss=1;alert(1)">'


async def test_a_job_named_like_html_is_shown_as_text_and_runs_no_script(manager, browser):
    job = await submit(manager, XSS, metadata={"user.name": "<script>window.xss=2</script>",
                                                 "user.host": "<svg onload=alert(3)>"})
    worker = await HttpWorker(manager.url, "<img src=y onerror=alert(4)>").register_and_sign_on()
    try:
        _, task = await worker.claim()
        await worker.update(task["uuid"], taskStatus="active", activity="<b onmouseover=alert(5)>hi</b>",
                            log="<script>alert(6)</script>\n")
        page = await open_page(browser, manager.url + "/")
        row = await wait_row(page, "jobs-table", "r.status === 'active'")
        assert row["name"] == XSS and row["submitter"] == "<script>window.xss=2</script>@<svg onload=alert(3)>"
        await page.goto(f"{manager.url}/#/jobs/{job['id']}/tasks/{task['uuid']}")
        await page.wait_for("document.querySelector('#task-log').textContent.includes('<script>alert(6)</script>')")
        assert await page.text("#job-name") == XSS
        assert (await wait_row(page, "tasks-table", "r.status === 'active'"))["activity"] == \
            "<b onmouseover=alert(5)>hi</b>"
        await page.click("#tab-workers")
        await wait_row(page, "workers-table", "r.name === '<img src=y onerror=alert(4)>'")
        await asyncio.sleep(0.5)  # time for an injected handler to fire, if there were one
        assert await page.evaluate("window.xss") is None
        assert page.dialogs == []
        assert await page.evaluate("document.querySelectorAll('img[src=x], img[src=y], svg, b, main script').length") \
            == 0
        # The policy is a second wall: a script added to the page anyway does not run.
        await page.evaluate("(() => { const s = document.createElement('script');"
                            " s.textContent = 'window.inline = 1'; document.body.append(s); })()")
        await asyncio.sleep(0.2)
        assert await page.evaluate("window.inline") is None
        assert any("script-src" in v for v in page.csp_violations), page.log_entries
    finally:
        await worker.close()


async def test_the_pages_requests_pass_the_guard_and_other_pages_requests_do_not(manager, browser, aiohttp_server):
    """The page is the Manager's own origin; a page elsewhere, or the Manager under a rebound name, is not."""
    from aiohttp import web

    job = await submit(manager, "guarded job")
    page = await open_page(browser, manager.url.replace("127.0.0.1", "localhost") + "/")  # one of its names
    await wait_row(page, "jobs-table", "r.name === 'guarded job'")

    async def elsewhere(request):
        return web.Response(text="<html><body>elsewhere</body></html>", content_type="text/html")

    other = web.Application()
    other.router.add_get("/", elsewhere)
    server = await aiohttp_server(other)
    evil = await browser.new_page()
    await evil.goto(str(server.make_url("/")))
    ws_url = manager.url.replace("http:", "ws:") + "/api/v3/tablao/events"
    opened = await evil.evaluate(f"""new Promise(done => {{
        const ws = new WebSocket({json.dumps(ws_url)});
        ws.onopen = () => done('opened'); ws.onerror = () => done('refused');
    }})""")
    assert opened == "refused"
    posted = await evil.evaluate(f"""fetch({json.dumps(manager.url + '/api/v3/jobs/' + job['id'] + '/setstatus')},
        {{method: 'POST', mode: 'no-cors', headers: {{'Content-Type': 'text/plain'}},
          body: JSON.stringify({{status: 'cancel-requested', reason: 'evil'}})}}).then(() => 'sent', () => 'failed')""")
    assert posted in ("sent", "failed")
    await asyncio.sleep(0.3)
    _, fetched = await manager.request("GET", f"/api/v3/jobs/{job['id']}")
    assert fetched["status"] == "queued"
    statuses = {r["url"].split("?")[0]: r["status"] for r in evil.responses}
    assert statuses.get(manager.url + f"/api/v3/jobs/{job['id']}/setstatus") in (403, 415, None)

    async with Chromium("--host-resolver-rules=MAP rebind.example 127.0.0.1") as rebound:
        tab = await rebound.new_page()
        port = manager.url.rsplit(":", 1)[1]
        await tab.goto(f"http://rebind.example:{port}/")
        document = [r for r in tab.responses if r["type"] == "Document"]
        assert document and document[0]["status"] == 421
        assert await tab.evaluate("document.querySelectorAll('#jobs-table').length") == 0


# --- the page's own arithmetic, run where it runs ---------------------------------------------------

async def test_eta_frames_and_words_in_the_browser(manager, browser):
    page = await browser.new_page()
    await page.goto(manager.url + "/")
    result = await page.evaluate("""(async () => {
        const { etaText } = await import('/ui/eta.js');
        const f = await import('/ui/format.js');
        const at = (s) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
        const eta = { at: at(360), low: at(240), high: at(720), seconds: 360, computed: at(0), source: 'file',
                      basis: 4, workers: [{ id: 'w', name: 'w', speed: 1 }] };
        return {
          eta: etaText(eta, '', Date.parse(at(0))),
          later: etaText(eta, '', Date.parse(at(300))),
          past: etaText(eta, '', Date.parse(at(900))),
          none: etaText(null, 'nothing left to render', 0),
          frames: [f.countFrames('1-100,150'), f.countFrames('1..10'), f.countFrames('abc'), f.countFrames('10-1')],
          render: f.framesOf({ settings: { frames: '1-40' }, steps_total: 41, steps_completed: 41 }),
          echo: f.framesOf({ settings: { message: 'x' }, steps_total: 4, steps_completed: 1 }),
          who: [f.submitter({ metadata: { 'user.name': 'alice', 'user.host': 'pc' } }), f.submitter({})],
          long: [f.duration(3725), f.duration(42), f.duration(185), f.duration(200000)],
        };
    })()""")
    eta = result["eta"]
    # The page counts down to the times the Manager gave.
    assert eta["estimate"] == {"seconds": 360, "low": 240, "high": 720, "basis": 4, "source": "file"}
    assert eta["text"] == "6 min (4 min–12 min)"
    assert eta["title"].startswith("about 6 min, between 4 min and 12 min, from 4 finished tasks of earlier "
                                   "jobs of this .blend file and 1 worker; done around ")
    assert result["later"]["text"] == "1 min (0 s–7 min)" and result["past"]["text"] == "0 s (0 s–0 s)"
    assert result["none"] == {"text": "—", "title": "nothing left to render"}
    assert result["frames"] == [101, 10, None, None]
    assert result["render"] == {"done": 40, "total": 40, "unit": "frames"}
    assert result["echo"] == {"done": 1, "total": 4, "unit": "steps"}
    assert result["who"] == ["alice@pc", ""]
    assert result["long"] == ["1 h 02 min", "42 s", "3 min 05 s", "2 d 7 h"]


async def test_the_task_table_shows_each_finished_tasks_render_time_and_peak_memory(manager, browser):
    job = await submit(manager, "measured", repeats=1)
    worker = await HttpWorker(manager.url, "render-07").register_and_sign_on()
    try:
        page = await open_page(browser, manager.url + f"/#/jobs/{job['id']}")
        await page.wait_for("document.querySelector('#tasks-table').dataset.rows === '2'")
        _, task = await worker.claim()
        # The figures come with the final status; the open page reads them once the task's event arrives.
        await worker.update(task["uuid"], taskStatus="completed", activity="Completed", render_time_s=75.5,
                            peak_memory_mb=2048.0, log="done\n")
        row = await wait_row(page, "tasks-table", "r.render === '1m 16s'")
        assert row["memory"] == "2.00 GB" and row["name"] == task["name"]
        waiting = await wait_row(page, "tasks-table", "r.status === 'queued'")
        assert waiting["render"] == "" and waiting["memory"] == ""
        assert not page.exceptions and not page.console_errors and not page.csp_violations
    finally:
        await worker.close()
