"""Dashboard scale: a Manager with 100 jobs x 1,000 tasks, then 200 task events/s for 60 s.

Prints: time until the job table is filled, time until a 1,000-task job's detail (its task table)
is shown, the longest UI-thread stall (an event-loop lag probe every 10 ms) while the events
arrive, how many events the dashboard received, and the dashboard's resident memory.

    QT_QPA_PLATFORM=offscreen .venv/bin/python bench/ui.py [--jobs 100] [--tasks 1000] [--rate 200] [--seconds 60]

The Manager and the load (simulated workers over real HTTP) run in their own processes, so the
figures are the dashboard's own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

LOAD = r"""
import asyncio, sys, time
sys.path.insert(0, {root!r})
from tests.http_worker import HttpWorker

async def main(url, rate, seconds, workers):
    ws = [await HttpWorker(url, f"load-{{i}}").register_and_sign_on() for i in range(workers)]
    claimed = []
    for w in ws:
        status, task = await w.claim()
        if status == 200:
            claimed.append((w, task["uuid"]))
    interval, sent, start = 1.0 / rate, 0, time.monotonic()
    while time.monotonic() - start < seconds:
        w, task = claimed[sent % len(claimed)]
        await w.update(task, taskStatus="active", activity=f"frame {{sent}}", stepsCompleted=sent % 100,
                       stepsTotal=100)
        sent += 1
        delay = start + sent * interval - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    print(sent, flush=True)
    for w in ws:
        await w.close()

asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
"""


def _post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as resp:
        return json.loads(resp.read())


def start_manager(root: Path) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    (root / "shared").mkdir(parents=True)
    cfg = root / "flamenco-manager.yaml"
    cfg.write_text(f"_meta:\n  version: 3\nlisten: 127.0.0.1:{port}\nshared_storage_path: {root / 'shared'}\n"
                   "database: manager.sqlite\n")
    with open(root / "manager.log", "wb") as log:  # the Manager keeps its own descriptor
        proc = subprocess.Popen([sys.executable, "-m", "app", "manager", "--headless", "--config", str(cfg)],
                                cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/api/v3/version", timeout=1).read()
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the Manager did not start")


def fill(url: str, jobs: int, tasks: int) -> None:
    started = time.monotonic()
    for n in range(jobs):
        _post(url + "/api/v3/jobs", {
            "name": f"shot_{n:03d}", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
            "settings": {"message": "x", "sleep_duration_seconds": 0, "sleep_repeats": tasks - 1}})
    print(f"filled the Manager: {jobs} jobs x {tasks} tasks in {time.monotonic() - started:.1f} s", flush=True)


async def measure(url: str, args) -> None:
    from app.ui.launch import open_dashboard

    t0 = time.perf_counter()
    dashboard, window = await open_dashboard([url])
    while dashboard.jobs.rowCount() < args.jobs:
        await asyncio.sleep(0.005)
    fill_s = time.perf_counter() - t0
    key = dashboard.jobs.keys()[0]
    t1 = time.perf_counter()
    window.detail.show_job(dashboard.jobs.row(key))
    while window.detail.tasks.rowCount() < args.tasks:
        await asyncio.sleep(0.005)
    detail_s = time.perf_counter() - t1

    received = {"n": 0}
    dashboard.tasks_changed.connect(lambda _label, rows: received.__setitem__("n", received["n"] + len(rows)))
    load = subprocess.Popen([sys.executable, "-c", LOAD.format(root=str(ROOT)), url, str(args.rate),
                             str(args.seconds), "20"], stdout=subprocess.PIPE, text=True)
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    end = time.monotonic() + args.seconds + 5
    while time.monotonic() < end and load.poll() is None:
        before = loop.time()
        await asyncio.sleep(0.010)
        lags.append(loop.time() - before - 0.010)
    sent = int((load.communicate()[0] or "0").strip() or 0)
    rss = psutil.Process().memory_info().rss / 2**20
    lags.sort()
    print(f"job table filled ({args.jobs} jobs):        {fill_s * 1000:8.0f} ms   (target < 1000)")
    print(f"job detail shown ({args.tasks} tasks):      {detail_s * 1000:8.0f} ms   (target < 500)")
    print(f"task events sent / received:       {sent} / {received['n']} in {args.seconds:.0f} s")
    print(f"longest UI-thread stall:           {lags[-1] * 1000:8.1f} ms   (target < 50)")
    print(f"99th percentile stall:             {lags[int(len(lags) * 0.99)] * 1000:8.1f} ms")
    print(f"dashboard resident memory:         {rss:8.0f} MB   (target < 300)")
    window.close()
    await dashboard.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--tasks", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()
    from app.ui.launch import run_in_qt

    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_manager(Path(tmp))
        try:
            fill(url, args.jobs, args.tasks)

            async def run(_app) -> int:
                await measure(url, args)
                return 0

            run_in_qt(run)
            sys.stdout.flush()
        finally:
            proc.terminate()
            proc.wait(30)


if __name__ == "__main__":
    main()
    os._exit(0)  # skip interpreter teardown: PySide's finalizer can crash after the figures are out
