"""Bench: claim+complete cycles on SQLite and PostgreSQL, with the database server's CPU and round trips.

Run by hand (prints figures, asserts nothing):
  `.venv/bin/python bench/store_claims.py --postgres postgresql://postgres@127.0.0.1:5432/postgres
   [--code /path/to/older/checkout] [--rounds 2] [--quick]`
The same claims run as `bench/farm.py --claims-only` (50 HTTP workers claim and complete tasks from a
queue), once per store and per code tree (this one, and `--code` ones to compare with), the runs
alternated round by round so a shared machine's noise falls on all of them alike. Per run: claims/s,
the Manager's CPU per cycle, and on PostgreSQL the server's CPU per cycle (its postmaster and every
process under it, from /proc; a process that ended during the run is left out) and the statements the Manager sent per claim and per completion (counted with
`log_statement = all` in the server's log, which `--pg-log` names; each logged statement is one
round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
import time
import uuid
from pathlib import Path

import aiohttp
import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ROOT, ManagerProcess  # noqa: E402
from bench.farm import JOB_SIZE, _claim, _complete, _cpu_seconds, _register, sleep_job  # noqa: E402


class ManagerAt(ManagerProcess):
    """A Manager process running the code of another checkout (`code`)."""

    def __init__(self, code: Path, **config):
        super().__init__(**config)
        self.code = code

    def __enter__(self) -> ManagerAt:
        env_before = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = str(self.code)
        global_root = ROOT
        try:
            import bench._harness as harness
            harness.ROOT = self.code  # the subprocess's cwd: `python -m app` runs that tree's code
            super().__enter__()
        finally:
            harness.ROOT = global_root
            if env_before is None:
                os.environ.pop("PYTHONPATH", None)
            else:
                os.environ["PYTHONPATH"] = env_before
        return self


def _server_processes(admin_url: str) -> list[psutil.Process]:
    """The processes of the PostgreSQL server at `admin_url`: its postmaster (the first line of
    `postmaster.pid` in its data directory) and every process under it; none when they cannot be read."""
    import psycopg2

    conn = psycopg2.connect(admin_url, application_name="bench-admin")
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW data_directory")
            data = Path(cur.fetchone()[0])
    finally:
        conn.close()
    try:
        postmaster = psutil.Process(int((data / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]
    except (OSError, ValueError, psutil.Error):
        return []


def _postgres_cpu(admin_url: str) -> dict[tuple[int, float], float]:
    """CPU seconds per process of that server, keyed by (pid, start time): a process that ended meanwhile
    (another program's connection) must not count as negative time, nor a new one with an old one's pid."""
    seconds: dict[tuple[int, float], float] = {}
    for proc in _server_processes(admin_url):
        try:
            seconds[(proc.pid, proc.create_time())] = _cpu_seconds(proc)
        except psutil.Error:
            continue
    return seconds


def _postgres_cpu_since(admin_url: str, before: dict[tuple[int, float], float]) -> float:
    return sum(cpu - before.get(key, 0.0) for key, cpu in _postgres_cpu(admin_url).items())


def _new_database(admin_url: str) -> str:
    import psycopg2

    name = "tablao_bench_" + uuid.uuid4().hex[:12]
    conn = psycopg2.connect(admin_url, application_name="bench-admin")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE {name}")
    conn.close()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _set_statement_log(admin_url: str, on: bool) -> None:
    import psycopg2

    conn = psycopg2.connect(admin_url, application_name="bench-admin")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"ALTER SYSTEM SET log_statement = '{'all' if on else 'none'}'")
        cur.execute("SELECT pg_reload_conf()")
    conn.close()
    time.sleep(0.3)  # the server reads its configuration again on its own time


async def _counted(session: aiohttp.ClientSession, auth: dict[str, str], admin: str, log: Path | None,
                   cycles: int) -> tuple[float, float] | None:
    """Statements per claim and per completion, one worker, `cycles` of each."""
    if log is None:
        return None
    claim_lines = complete_lines = 0
    for _ in range(3):  # warm: statements seen twice are prepared, which costs a round trip once
        task = await _claim(session, auth)
        assert task is not None
        await _complete(session, auth, task["uuid"])
    for _ in range(cycles):
        for kind in ("claim", "complete"):
            _set_statement_log(admin, True)
            start = log.stat().st_size
            if kind == "claim":
                task = await _claim(session, auth)
                assert task is not None
            else:
                await _complete(session, auth, task["uuid"])
            await asyncio.sleep(0.05)
            _set_statement_log(admin, False)
            with log.open("rb") as f:
                f.seek(start)
                text = f.read().decode(errors="replace")
            count = len(re.findall(r"LOG:  (?:statement|execute [^:]*):", text))
            # The admin connection's own statements (ALTER SYSTEM, pg_reload_conf) are not the Manager's.
            count -= len(re.findall(r"ALTER SYSTEM|pg_reload_conf", text))
            if kind == "claim":
                claim_lines += count
            else:
                complete_lines += count
    return claim_lines / cycles, complete_lines / cycles


async def one_run(code: Path, store: str, admin: str, log: Path | None, total: int, clients: int,
                  seconds: float) -> str:
    database = "bench.sqlite" if store == "sqlite" else _new_database(admin)
    with ManagerAt(code, worker_timeout="10m", database=database) as manager:
        connector = aiohttp.TCPConnector(limit=clients + 5)
        async with aiohttp.ClientSession(manager.url, connector=connector) as session:
            for i in range(-(-total // JOB_SIZE)):
                size = min(JOB_SIZE, total - i * JOB_SIZE)
                async with session.post("/api/v3/jobs", json=sleep_job(size, 0, f"artist-{i % 2}")) as resp:
                    assert resp.status == 200, await resp.text()
            auths = [await _register(session, i) for i in range(clients)]
            for _ in range(-(-total // JOB_SIZE)):
                first = await _claim(session, auths[0])
                await _complete(session, auths[0], first["uuid"])
            trips = await _counted(session, auths[0], admin, log, 5) if store == "postgres" else None
            counts = [0] * clients
            stop_at = time.perf_counter() + seconds

            async def worker(i: int) -> None:
                while time.perf_counter() < stop_at:
                    task = await _claim(session, auths[i])
                    if task is None:
                        return
                    counts[i] += 1
                    await _complete(session, auths[i], task["uuid"])

            proc = psutil.Process(manager.proc.pid)
            cpu0, pg0 = _cpu_seconds(proc), _postgres_cpu(admin) if store == "postgres" else {}
            start = time.perf_counter()
            await asyncio.gather(*(worker(i) for i in range(clients)))
            elapsed = time.perf_counter() - start
            cpu = _cpu_seconds(proc) - cpu0
            pg = _postgres_cpu_since(admin, pg0) if store == "postgres" else 0.0
    n = max(sum(counts), 1)
    line = (f"{store:8} {code.name[:22]:22} {n / elapsed:6.0f} claims/s  Manager CPU {1000 * cpu / n:5.2f} ms"
            f"/cycle")
    if store == "postgres":
        line += f"  postgres CPU {1000 * pg / n:5.2f} ms/cycle"
        if trips is not None:
            line += f"  statements: {trips[0]:.1f} per claim, {trips[1]:.1f} per completion"
    return line


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="an admin URL of a PostgreSQL server (each run gets a new database)")
    parser.add_argument("--pg-log", type=Path, help="that server's log file, to count statements")
    parser.add_argument("--code", type=Path, action="append", default=[],
                        help="another checkout to compare with (its Manager runs from there)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--stores", default="sqlite,postgres")
    parser.add_argument("--quick", action="store_true", help="5,000 tasks, 20 workers, 3 s")
    args = parser.parse_args()
    total, clients, seconds = (5_000, 20, 3.0) if args.quick else (20_000, 50, 10.0)
    stores = [s for s in args.stores.split(",") if s != "postgres" or args.postgres]
    codes = [ROOT, *args.code]
    print(f"{total} queued, {clients} workers, {seconds:g} s per run, {os.cpu_count()} cores")
    for round_no in range(args.rounds):
        for store in stores:
            for code in (codes if round_no % 2 == 0 else codes[::-1]):
                print(asyncio.run(one_run(code.resolve(), store, args.postgres or "", args.pg_log, total,
                                          clients, seconds)), flush=True)


if __name__ == "__main__":
    main()
