"""Bench: the floor under `bench/scale.py`, the same load against a server that only speaks HTTP.

Run by hand: `.venv/bin/python bench/http_floor.py [--workers 1000 10000] [--procs 2]`.
Prints one row per farm size in `bench/scale.py`'s table format, then the same row for the real
Manager measured in the same run; asserts nothing.

The "null Manager" here answers the routes the simulated workers and the job poller use, from memory,
with no store, no scheduler, no task logs, no events and no authentication: a queue of task ids and a
line of waiting long-polls. What it needs per task (two HTTP requests and their JSON) is the least any
Manager written on aiohttp needs on this machine, with the load generators sharing its cores. If the
null server cannot finish 30,000 tasks in 30 s here, neither can the real one, and the ratio between
the two rows is what the Manager's own work costs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import sys
import uuid
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import scale  # noqa: E402
from bench._harness import ManagerProcess  # noqa: E402


# --- the null Manager (runs in its own process) -----------------------------------------------------
class _NullManager:
    """A Manager that only hands out, takes back and counts tasks: the HTTP floor under the real one."""

    def __init__(self) -> None:
        self.queue: collections.deque[tuple[str, str]] = collections.deque()
        self.waiting: collections.deque[asyncio.Future] = collections.deque()
        self.jobs: dict[str, list[int]] = {}  # job id -> [tasks, completed]
        self.owner: dict[str, str] = {}  # task id -> job id

    def hand_out(self) -> None:
        while self.queue and self.waiting:
            fut = self.waiting.popleft()
            if not fut.done():
                fut.set_result(self.queue.popleft())

    async def register(self, request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({"uuid": str(uuid.uuid4())})

    async def sign_on(self, request: web.Request) -> web.Response:
        await request.json()
        return web.json_response({})

    async def state_changed(self, request: web.Request) -> web.Response:
        await request.json()
        return web.Response(status=204)

    async def claim(self, request: web.Request) -> web.Response:
        if self.queue:
            task_id, job_id = self.queue.popleft()
        else:
            fut = asyncio.get_running_loop().create_future()
            self.waiting.append(fut)
            try:
                async with asyncio.timeout(float(request.headers.get("X-Tablao-Wait", "0"))):
                    task_id, job_id = await fut
            except TimeoutError:
                if not fut.done() or fut.cancelled():
                    return web.Response(status=204)
                task_id, job_id = fut.result()  # handed out just as the wait ran out
        return web.json_response({"uuid": task_id, "job": job_id, "name": "sleep", "status": "active",
                                  "commands": [{"name": "sleep", "parameters": {"duration_in_seconds": 0}}]})

    async def update(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("taskStatus") == "completed":
            self.jobs[self.owner.pop(request.match_info["task"])][1] += 1
        return web.Response(status=204)

    async def submit(self, request: web.Request) -> web.Response:
        body = await request.json()
        size = body["settings"]["sleep_repeats"] + 1
        job_id = str(uuid.uuid4())
        self.jobs[job_id] = [size, 0]
        for _ in range(size):
            task_id = str(uuid.uuid4())
            self.owner[task_id] = job_id
            self.queue.append((task_id, job_id))
        self.hand_out()
        return web.json_response({"id": job_id})

    async def job(self, request: web.Request) -> web.Response:
        size, done = self.jobs[request.match_info["job"]]
        return web.json_response({"status": "completed" if done == size else "active"})

    async def version(self, request: web.Request) -> web.Response:
        return web.json_response({"name": "null"})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v3/worker/register-worker", self.register)
        app.router.add_post("/api/v3/worker/sign-on", self.sign_on)
        app.router.add_post("/api/v3/worker/state-changed", self.state_changed)
        app.router.add_post("/api/v3/worker/task", self.claim)
        app.router.add_post("/api/v3/worker/task/{task}", self.update)
        app.router.add_post("/api/v3/jobs", self.submit)
        app.router.add_get("/api/v3/jobs/{job}", self.job)
        app.router.add_get("/api/v3/version", self.version)
        return app


def _null_app() -> web.Application:
    return _NullManager().app()


class NullManagerProcess(ManagerProcess):
    """`ManagerProcess` with the null server in place of `tablao manager`, for `scale.run_size`."""

    def command(self) -> list[str]:
        return [sys.executable, str(Path(__file__).resolve()), "--serve", str(self.port)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--procs", type=int, default=2, help="load-generator processes")
    parser.add_argument("--limit", type=float, default=300)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        scale._raise_nofile()
        web.run_app(_null_app(), host="127.0.0.1", port=args.serve, print=None, access_log=None,
                    shutdown_timeout=1)
        return
    nofile = scale._raise_nofile()
    print(f"open-file limit {nofile}, {os.cpu_count()} cores, {args.procs} load-generator processes")
    print("| server | idle workers waiting | tasks | job done in | completions/s | every worker had a task after | "
          "server CPU per task | RSS | job GETs failed/slow (median / longest) | sign-up / submission | CPU while idle |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in args.workers:
        for name, server in (("null (HTTP only)", NullManagerProcess), ("Tablao Manager", ManagerProcess)):
            print(f"| {name} " + scale._row(scale.run_size(n, args.procs, args.limit, server=server)), flush=True)


if __name__ == "__main__":
    main()
