"""Bench: one Manager and thousands of long-polling workers (hand-out cost per task vs farm size).

Run by hand: `.venv/bin/python bench/scale.py [--workers 1000 5000 10000] [--limit 120] [--procs 2]`.
Prints one table row per farm size; asserts nothing.

Each simulated worker does what `tablao worker` does, over real HTTP: register, sign on, say it is
awake, then `POST /api/v3/worker/task` with `X-Tablao-Wait` in a loop, completing every task at once.
The workers are asyncio coroutines spread over `--procs` load-generator processes. Once all of them
wait, echo/sleep jobs of three tasks per worker in all are submitted; the row gives the time until the
job is completed, completions per second, the time until every worker had its first task, the
Manager's CPU per task and its peak resident memory, and how many `GET /api/v3/jobs/{id}` polls
(every 0.5 s, 10 s timeout) failed or were slow (> 1 s) meanwhile, with the median and longest
answer time of those that were answered (and, on a line of its own, when each answer that took over
0.5 s was asked for, counted from the submission). Before the jobs come, the idle
farm is watched for two long-poll rounds: the Manager's CPU share (of one core) spent on re-polls.

`--burst N` adds a second measurement: 50 workers run a job of short tasks while N new workers
register and sign on at once; it prints the task-update latency of the running ones (median, p99,
max) during the burst and before it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing as mp
import os
import resource
import secrets
import statistics
import sys
import time
from functools import partial
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ManagerProcess  # noqa: E402

WAIT_S = 20
IDLE_WINDOW_S = 2 * WAIT_S  # how long the idle farm is watched before the jobs come
JOB_SIZE = 10_000
REGISTER_CONCURRENCY = 200


def _raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


async def _sign_up(session: aiohttp.ClientSession, name: str) -> dict[str, str]:
    secret = secrets.token_hex(16)
    types = ["misc"]
    async with session.post("/api/v3/worker/register-worker", json={
            "secret": secret, "platform": "linux", "supported_task_types": types, "name": name}) as resp:
        uuid = (await resp.json())["uuid"]
    auth = _basic(uuid, secret)
    async with session.post("/api/v3/worker/sign-on", headers=auth, json={
            "name": name, "supported_task_types": types, "software_version": "bench"}) as resp:
        await resp.read()
    async with session.post("/api/v3/worker/state-changed", headers=auth, json={"status": "awake"}) as resp:
        await resp.read()
    return auth


# --- load generator (one process) -------------------------------------------------------------------
def _generator(url: str, first: int, count: int, ready: mp.Event, stop: mp.Event, out: mp.Queue) -> None:
    _raise_nofile()
    asyncio.run(_generate(url, first, count, ready, stop, out))


async def _generate(url: str, first: int, count: int, ready, stop, out) -> None:
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=WAIT_S + 60, sock_connect=60)
    first_task: list[float] = [0.0] * count
    completions = [0]
    errors = [0]
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as session:
        gate = asyncio.Semaphore(REGISTER_CONCURRENCY)

        async def sign_up(i: int) -> dict[str, str]:
            async with gate:
                for _attempt in range(5):  # a reused keep-alive connection may have been closed
                    try:
                        return await _sign_up(session, f"s{first + i}")
                    except (TimeoutError, aiohttp.ClientError):
                        errors[0] += 1
                        await asyncio.sleep(1)
                return await _sign_up(session, f"s{first + i}")
        auths = await asyncio.gather(*(sign_up(i) for i in range(count)))
        polling = [0]
        all_polling = asyncio.Event()

        async def work(i: int) -> None:
            auth = {**auths[i], "X-Tablao-Wait": str(WAIT_S)}
            announced = False
            while True:
                try:
                    if not announced:
                        announced = True
                        polling[0] += 1
                        if polling[0] == count:
                            all_polling.set()
                    async with session.post("/api/v3/worker/task", headers=auth) as resp:
                        if resp.status != 200:
                            await resp.read()
                            if resp.status != 204:
                                errors[0] += 1
                                await asyncio.sleep(1)
                            continue
                        task = await resp.json()
                    if not first_task[i]:
                        first_task[i] = time.time()
                    async with session.post(f"/api/v3/worker/task/{task['uuid']}", headers=auths[i],
                                            json={"taskStatus": "completed", "activity": "done"}) as resp:
                        await resp.read()
                        if resp.status == 204:
                            completions[0] += 1
                        else:
                            errors[0] += 1
                except (TimeoutError, aiohttp.ClientError):
                    errors[0] += 1
                    await asyncio.sleep(1)

        runners = [asyncio.create_task(work(i)) for i in range(count)]
        await all_polling.wait()
        await asyncio.sleep(0.5)  # the last requests reach the Manager and start waiting
        ready.set()
        while not stop.is_set():
            await asyncio.sleep(0.1)
        for r in runners:
            r.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
    out.put({"first_task": first_task, "completions": completions[0], "errors": errors[0]})


# --- one farm size ----------------------------------------------------------------------------------
async def _watch_jobs(url: str, job_ids: list[str], limit: float, t0: float, submitted: float,
                      manager: psutil.Process) -> dict:
    """Poll the jobs until completed; `limit` counts from the end of the submission."""
    failed = slow = 0
    peak_rss = 0
    latencies: list[float] = []
    long_ones: list[tuple[float, float]] = []  # (seconds since the submission began, answer time) > 0.5 s
    pending = list(job_ids)
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=10)) as session:
        while True:
            peak_rss = max(peak_rss, manager.memory_info().rss)
            started = time.time()
            try:
                async with session.get(f"/api/v3/jobs/{pending[0]}") as resp:
                    job = await resp.json()
                latencies.append(time.time() - started)
                if latencies[-1] > 1:
                    slow += 1
                if latencies[-1] > 0.5:
                    long_ones.append((started - t0, latencies[-1]))
                if job["status"] == "completed":
                    pending.pop(0)
                    if not pending:
                        return {"done": time.time() - t0, "failed": failed, "slow": slow, "rss": peak_rss,
                                "latencies": latencies, "long": long_ones}
                    continue
            except (TimeoutError, aiohttp.ClientError):
                failed += 1
            if time.time() - t0 > limit + submitted:
                return {"done": None, "failed": failed, "slow": slow, "rss": peak_rss, "latencies": latencies,
                        "long": long_ones}
            await asyncio.sleep(0.5)


async def _submit(url: str, tasks: int) -> list[str]:
    """Jobs of at most JOB_SIZE tasks (one echo, then sleeps that wait for it), `tasks` in all.

    One job would be the issue's setup, but compiling 30,000 tasks takes longer than the job-type
    script's 5 s limit on a slow machine; the hand-out is the same.
    """
    ids = []
    async with aiohttp.ClientSession(url, timeout=aiohttp.ClientTimeout(total=None)) as session:
        for first in range(0, tasks, JOB_SIZE):
            started = time.time()
            size = min(JOB_SIZE, tasks - first)
            body = {"name": "scale", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                    "settings": {"message": "scale", "sleep_duration_seconds": 0, "sleep_repeats": size - 1}}
            async with session.post("/api/v3/jobs", json=body) as resp:
                job = await resp.json()
                assert resp.status == 200, job
                ids.append(job["id"])
            print(f"  job {len(ids)} of {size:,} tasks submitted in {time.time() - started:.1f} s", flush=True)
    return ids


def run_size(workers: int, procs: int, limit: float, server=ManagerProcess) -> dict:
    tasks = 3 * workers
    with server(worker_timeout="30m") as manager:
        mproc = psutil.Process(manager.proc.pid)
        ctx = mp.get_context("spawn")
        stop, out = ctx.Event(), ctx.Queue()
        readies, children = [], []
        per = -(-workers // procs)
        for p in range(procs):
            count = min(per, workers - p * per)
            ready = ctx.Event()
            child = ctx.Process(target=_generator, args=(manager.url, p * per, count, ready, stop, out),
                                daemon=True)
            child.start()
            readies.append(ready)
            children.append(child)
        try:
            t_reg = time.time()
            for ready in readies:
                while not ready.wait(1):
                    if not all(c.is_alive() for c in children):
                        raise RuntimeError("a load generator died")
            reg_s = time.time() - t_reg
            # Every worker waits for work: what the idle farm costs (their re-polls, every WAIT_S).
            idle0, idle_t0 = sum(mproc.cpu_times()[:2]), time.time()
            time.sleep(IDLE_WINDOW_S)
            idle_share = (sum(mproc.cpu_times()[:2]) - idle0) / (time.time() - idle_t0)
            cpu0 = sum(mproc.cpu_times()[:2])
            t0 = time.time()
            job_ids = asyncio.run(_submit(manager.url, tasks))
            submit_s = time.time() - t0
            watch = asyncio.run(_watch_jobs(manager.url, job_ids, limit, t0, submit_s, mproc))
            if watch["long"]:
                print("  job GETs over 0.5 s (sent at, answered in): "
                      + ", ".join(f"{at:.1f} s ({took:.2f} s)" for at, took in watch["long"]), flush=True)
            elapsed = time.time() - t0
            cpu = sum(mproc.cpu_times()[:2]) - cpu0
            stop.set()
            results = [out.get(timeout=120) for _ in children]
        finally:
            stop.set()
            for child in children:
                child.join(30)
                if child.is_alive():
                    child.terminate()
    firsts = [t for r in results for t in r["first_task"]]
    completions = sum(r["completions"] for r in results)
    all_first = (max(firsts) - t0) if all(firsts) else None
    return {"workers": workers, "tasks": tasks, "register_s": reg_s, "submit_s": submit_s, "done_s": watch["done"],
            "elapsed": elapsed, "completions": completions, "rate": completions / elapsed,
            "all_first_s": all_first, "with_task": sum(1 for t in firsts if t),
            "cpu_ms_per_task": 1000 * cpu / max(completions, 1), "rss_mib": watch["rss"] / 2**20,
            "job_get_failed": watch["failed"], "job_get_slow": watch["slow"], "idle_share": idle_share,
            "job_get_median_s": statistics.median(watch["latencies"]) if watch["latencies"] else None,
            "job_get_max_s": max(watch["latencies"]) if watch["latencies"] else None,
            "errors": sum(r["errors"] for r in results)}


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _row(r: dict) -> str:
    done = f"{r['done_s']:.1f} s" if r["done_s"] else f"not done after {r['elapsed']:.0f} s ({r['completions']:,} tasks)"
    first = (f"{r['all_first_s']:.1f} s" if r["all_first_s"] is not None
             else f"{r['with_task']:,} of {r['workers']:,} had one")
    return (f"| {r['workers']:,} | {r['tasks']:,} | {done} | {r['rate']:.0f} | {first} | "
            f"{r['cpu_ms_per_task']:.2f} ms | {r['rss_mib']:.0f} MiB | {r['job_get_failed']}/{r['job_get_slow']} "
            f"({_secs(r['job_get_median_s'])} / {_secs(r['job_get_max_s'])}) | "
            f"{r['register_s']:.0f} s / {r['submit_s']:.0f} s | {100 * r['idle_share']:.0f}% |")


# --- registration burst vs running workers ----------------------------------------------------------
def _newcomers(url: str, count: int, started) -> None:
    _raise_nofile()

    async def sign_up_all() -> None:
        gate = asyncio.Semaphore(REGISTER_CONCURRENCY)
        async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=0)) as session:
            started.set()

            async def newcomer(i: int) -> None:
                async with gate:
                    await _sign_up(session, f"n{i}")
            await asyncio.gather(*(newcomer(i) for i in range(count)))
    asyncio.run(sign_up_all())


async def _burst(url: str, newcomers: int, running: int = 50) -> None:
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(url, connector=connector) as session:
        body = {"name": "burst", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
                "settings": {"message": "burst", "sleep_duration_seconds": 0, "sleep_repeats": 9_000}}
        async with session.post("/api/v3/jobs", json=body) as resp:
            assert resp.status == 200, await resp.text()
        auths = [await _sign_up(session, f"r{i}") for i in range(running)]
        latencies: list[tuple[float, float]] = []
        stop = asyncio.Event()

        async def work(auth: dict[str, str]) -> None:
            while not stop.is_set():
                async with session.post("/api/v3/worker/task", headers={**auth, "X-Tablao-Wait": "5"}) as resp:
                    if resp.status != 200:
                        await resp.read()
                        continue
                    task = await resp.json()
                t = time.perf_counter()
                async with session.post(f"/api/v3/worker/task/{task['uuid']}", headers=auth,
                                        json={"taskStatus": "completed", "activity": "done"}) as resp:
                    await resp.read()
                latencies.append((t, time.perf_counter() - t))
                await asyncio.sleep(0.01)
        runners = [asyncio.create_task(work(a)) for a in auths]
        await asyncio.sleep(3)
        # The newcomers sign up from another process: in this one their 200 concurrent requests
        # would hold up this loop, and the running workers' latency would be the client's own.
        ctx = mp.get_context("spawn")
        started = ctx.Event()
        child = ctx.Process(target=_newcomers, args=(url, newcomers, started), daemon=True)
        child.start()
        while not started.is_set() and child.is_alive():
            await asyncio.sleep(0.01)
        t_burst = time.perf_counter()
        while child.is_alive():
            await asyncio.sleep(0.05)
        t_end = time.perf_counter()
        if child.exitcode != 0:
            raise RuntimeError("the newcomers' process failed")
        await asyncio.sleep(1)
        stop.set()
        await asyncio.gather(*runners, return_exceptions=True)

    def stats(xs: list[float]) -> str:
        xs = sorted(xs)
        if not xs:
            return "none"
        return (f"median {1000 * statistics.median(xs):.1f} ms, p99 {1000 * xs[int(len(xs) * 0.99)]:.1f} ms, "
                f"max {1000 * xs[-1]:.1f} ms ({len(xs)} updates)")
    before = [d for t, d in latencies if t < t_burst]
    during = [d for t, d in latencies if t_burst <= t <= t_end]
    print(f"burst: {newcomers:,} workers registered and signed on in {t_end - t_burst:.1f} s "
          f"({newcomers / (t_end - t_burst):.0f}/s)")
    print(f"  task updates of {running} running workers before: {stats(before)}")
    print(f"  task updates of {running} running workers during: {stats(during)}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="*", default=[1000, 5000, 10000])
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--limit", type=float, default=300, help="give up on a job after this many seconds")
    parser.add_argument("--burst", type=int, default=0, help="also measure a registration burst of N workers")
    parser.add_argument("--policy", choices=["priority", "fair-share"], default="priority",
                        help="the Manager's scheduler_policy")
    args = parser.parse_args()
    nofile = _raise_nofile()
    print(f"open-file limit {nofile}, {os.cpu_count()} cores, {args.procs} load-generator processes")
    print("| idle workers waiting | tasks | job done in | completions/s | every worker had a task after | "
          "Manager CPU per task | RSS | job GETs failed/slow (median / longest) | sign-up / submission | Manager CPU while idle |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n in args.workers:
        print(_row(run_size(n, args.procs, args.limit, partial(ManagerProcess, scheduler_policy=args.policy))),
              flush=True)
    if args.burst:
        with ManagerProcess(worker_timeout="30m") as manager:
            asyncio.run(_burst(manager.url, args.burst))


if __name__ == "__main__":
    main()
