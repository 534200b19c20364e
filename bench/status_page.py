"""Status page scale in a real headless Chromium: a Manager with 100 jobs x 1,000 tasks.

Prints, each the median (min-max) of --runs fresh page loads, measured by the page's own marks
from the start of navigation to the frame after the rows were drawn:
- the job table shown (all jobs loaded, the rows in view drawn);
- a job's 1,000 tasks shown, opening the page on that job's address (jobs and tasks both);
- a job's tasks shown after a click on its row in an open page;
then, with 200 task events/s for --seconds from 20 simulated workers while a job is open: events
the page received, its longest main-thread task (PerformanceObserver "longtask", 50 ms and up) and
longest gap between animation frames, and its JavaScript heap.

    .venv/bin/python bench/status_page.py [--jobs 100] [--tasks 1000] [--runs 5] [--rate 200] [--seconds 20]

The Manager runs in its own process (bench/_harness.py); Chromium is Debian's (tests/chromium.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._harness import ManagerProcess  # noqa: E402
from tests.chromium import Chromium  # noqa: E402
from tests.http_worker import HttpWorker  # noqa: E402

MARKS = "Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name, m.startTime]))"


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def fill(url: str, jobs: int, tasks: int) -> list[str]:
    started = time.monotonic()
    ids = []
    for n in range(jobs):
        job = _post(url + "/api/v3/jobs", {
            "name": f"shot_{n:03d}", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "metadata": {"user.name": "bench", "user.host": "bench-pc"},
            "settings": {"message": "x", "sleep_duration_seconds": 0, "sleep_repeats": tasks - 1}})
        ids.append(job["id"])
    print(f"filled the Manager: {jobs} jobs x {tasks} tasks in {time.monotonic() - started:.1f} s", flush=True)
    return ids


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):7.0f} ms  ({min(values):.0f}-{max(values):.0f})"


async def load_page(browser: Chromium, url: str, jobs: int, tasks: int | None) -> dict[str, float]:
    page = await browser.new_page()
    await page.goto(url)
    await page.wait_for(f"performance.getEntriesByName('tablao:jobs-shown').length && "
                        f"document.querySelector('#jobs-table').dataset.rows === '{jobs}'", 60)
    if tasks is not None:
        await page.wait_for(f"performance.getEntriesByName('tablao:tasks-shown').length && "
                            f"document.querySelector('#tasks-table').dataset.rows === '{tasks}'", 60)
    marks = await page.evaluate(MARKS)
    await page.send("Page.close")
    return marks


async def click_open(browser: Chromium, url: str, job_id: str, tasks: int) -> float:
    page = await browser.new_page()
    await page.goto(url)
    await page.wait_for("performance.getEntriesByName('tablao:jobs-shown').length", 60)
    await page.wait_for(f"!!document.querySelector('#jobs-table a[data-id=\"{job_id}\"]')")
    await page.click(f'#jobs-table a[data-id="{job_id}"]')
    await page.wait_for(f"performance.getEntriesByName('tablao:tasks-shown').length && "
                        f"document.querySelector('#tasks-table').dataset.rows === '{tasks}'", 60)
    marks = await page.evaluate(MARKS)
    await page.send("Page.close")
    return marks["tablao:tasks-shown"] - marks["tablao:job-opened"]


async def under_load(browser: Chromium, url: str, args) -> None:
    workers = [await HttpWorker(url, f"load-{i}").register_and_sign_on() for i in range(20)]
    claimed = []
    for w in workers:
        status, task = await w.claim()
        if status == 200:
            claimed.append((w, task["uuid"], task["job"]))
    job_id = claimed[0][2]
    page = await browser.new_page()
    await page.goto(f"{url}/#/jobs/{job_id}")
    await page.wait_for("performance.getEntriesByName('tablao:tasks-shown').length", 60)
    await page.evaluate("""(() => {
        window.bench = { events: 0, longest: 0, gap: 0 };
        const apply = tablao.farm.apply.bind(tablao.farm);
        tablao.farm.apply = (batch) => { bench.events += batch.length; return apply(batch); };
        new PerformanceObserver((list) => { for (const e of list.getEntries())
            bench.longest = Math.max(bench.longest, e.duration); }).observe({ type: 'longtask' });
        let last = performance.now();
        const frame = (t) => { bench.gap = Math.max(bench.gap, t - last); last = t; requestAnimationFrame(frame); };
        requestAnimationFrame(frame);
    })()""")
    interval, sent, start = 1.0 / args.rate, 0, time.monotonic()
    while time.monotonic() - start < args.seconds:
        w, task, _ = claimed[sent % len(claimed)]
        await w.update(task, taskStatus="active", activity=f"frame {sent}", stepsCompleted=sent % 100,
                       stepsTotal=100, log=f"Fra:{sent} Mem:12M\n")
        sent += 1
        delay = start + sent * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.sleep(1.0)
    got = await page.evaluate("({...bench, heap: (performance.memory || {}).usedJSHeapSize || 0})")
    print(f"task updates sent / events in:     {sent} / {got['events']} in {args.seconds:.0f} s "
          f"({sent / args.seconds:.0f}/s)")
    print(f"longest main-thread task:          {got['longest']:7.0f} ms   (none over 50 ms: 0)")
    print(f"longest gap between frames:        {got['gap']:7.0f} ms")
    print(f"page JavaScript heap:              {got['heap'] / 2**20:7.1f} MB")
    for w in workers:
        await w.close()


async def measure(url: str, ids: list[str], args) -> None:
    async with Chromium() as browser:
        await load_page(browser, url + "/", args.jobs, None)  # warm: the files cached, as a second visit
        jobs_shown = [(await load_page(browser, url + "/", args.jobs, None))["tablao:jobs-shown"]
                      for _ in range(args.runs)]
        both = [await load_page(browser, f"{url}/#/jobs/{ids[n % len(ids)]}", args.jobs, args.tasks)
                for n in range(args.runs)]
        clicked = [await click_open(browser, url + "/", ids[-1 - n], args.tasks) for n in range(args.runs)]
        print(f"Chromium {await chromium_version(browser)}, {args.jobs} jobs x {args.tasks} tasks, "
              f"{args.runs} page loads each")
        print(f"job table shown:                   {spread(jobs_shown)}   (target < 1000)")
        print(f"jobs and a job's {args.tasks} tasks shown:  "
              f"{spread([b['tablao:tasks-shown'] for b in both])}   (target < 1000)")
        print(f"a job's tasks after a click:       {spread(clicked)}")
        await under_load(browser, url, args)


async def chromium_version(browser: Chromium) -> str:
    info = await browser.send("Browser.getVersion")
    return info.get("product", "?").split("/", 1)[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    with ManagerProcess() as manager:
        ids = fill(manager.url, args.jobs, args.tasks)
        asyncio.run(measure(manager.url, ids, args))


if __name__ == "__main__":
    main()
