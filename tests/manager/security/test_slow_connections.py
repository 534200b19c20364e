"""Idle, slow and flooding connections against a real Manager on a real port: none may
keep the Manager from serving its workers.

Each test sets short timeouts or a small connection cap in the Manager's config and checks that
the hostile connections are closed while a worker keeps being served. The `asyncio.timeout`s
here only keep a broken Manager from hanging the run; they are far above the configured times.
"""

from __future__ import annotations

import asyncio
import contextlib

import aiohttp
import pytest

from app.manager.web.connection_guard import EVICTABLE_AFTER
from tests.conftest import echo_job
from tests.http_worker import HttpWorker

HANG_GUARD = 20.0  # seconds; the Manager's own limits in these tests are under 1 s


async def _connect(manager) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", manager.service.port)


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Reads until the Manager closes the connection; returns what it said before."""
    got = b""
    async with asyncio.timeout(HANG_GUARD):
        while True:
            try:
                chunk = await reader.read(65536)
            except ConnectionResetError:
                return got
            if not chunk:
                return got
            got += chunk


async def _worker(manager) -> HttpWorker:
    worker = await HttpWorker(manager.url, name="steady").register_and_sign_on()
    # Let the worker's pool drop connections before the Manager's short idle timeout does, as a
    # real worker's does with the default timeouts.
    await worker.session.close()
    worker.session = aiohttp.ClientSession(manager.url, connector=aiohttp.TCPConnector(keepalive_timeout=0.2))
    return worker


async def _run_job(manager, worker: HttpWorker, long_poll: float) -> int:
    """Submit a job while the worker long-polls; the worker then runs all its tasks."""
    poll = asyncio.create_task(worker.claim(wait=long_poll))
    await asyncio.sleep(long_poll / 2)  # the long-poll outlives every connection timeout
    status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=3))
    assert status == 200, job
    status, task = await poll
    done = 0
    while status == 200:
        assert (await worker.complete(task["uuid"]))[0] == 204
        done += 1
        status, task = await worker.claim()
    assert status == 204, task
    return done


@pytest.mark.slow  # waits out the idle timeouts
async def test_idle_and_slowloris_connections_are_closed_while_a_worker_claims(manager_factory):
    manager = await manager_factory(http_idle_timeout=2.0, http_header_timeout=1.0, http_body_timeout=1.0)
    worker = await _worker(manager)
    try:
        idle_r, _idle_w = await _connect(manager)
        kept_r, kept_w = await _connect(manager)
        kept_w.write(b"GET /api/v3/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # then stays open, idle
        half_r, half_w = await _connect(manager)
        half_w.write(b"GET /api/v3/version HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # headers never finished
        drip_r, drip_w = await _connect(manager)
        stall_r, stall_w = await _connect(manager)
        stall_w.write(b"POST /api/v3/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                      b"Content-Length: 1000\r\n\r\n{\"name\": ")  # the body stops here

        async def drip() -> None:  # slowloris: a header byte now and then, never the blank line
            drip_w.write(b"GET /api/v3/version HTTP/1.1\r\nX-Slow: ")
            with contextlib.suppress(ConnectionError):
                for _ in range(200):
                    await asyncio.sleep(0.1)
                    drip_w.write(b"a")
                    await drip_w.drain()

        dripping = asyncio.create_task(drip())
        closed = asyncio.gather(*(_closed_by_server(r) for r in (idle_r, kept_r, half_r, drip_r, stall_r)))
        done = await _run_job(manager, worker, long_poll=5.0)
        idle_said, kept_said, half_said, drip_said, stall_said = await closed
        dripping.cancel()

        assert done == 4  # echo + three sleeps, claimed while the hostile sockets were open
        assert idle_said == b""
        assert kept_said.startswith(b"HTTP/1.1 200")
        assert half_said.startswith(b"HTTP/1.1 408") and drip_said.startswith(b"HTTP/1.1 408")
        assert stall_said == b""
        guard = manager.service.server.guard
        assert guard.closed_slow_headers >= 2 and guard.closed_stalled_bodies == 1
        status, _ = await manager.request("GET", "/api/v3/version")
        assert status == 200
    finally:
        await worker.close()


async def test_a_flood_of_connections_over_the_cap_does_not_lock_out_workers(manager_factory):
    cap = 24
    manager = await manager_factory(http_max_connections=cap)  # default (long) timeouts
    guard = manager.service.server.guard
    assert guard.limits.max_connections == cap
    flood = [await _connect(manager) for _ in range(cap * 3)]
    for _reader, writer in flood[::2]:
        writer.write(b"GET /api/v3/version HTTP/1.1\r\n")  # half of them half-sent
    await asyncio.sleep(EVICTABLE_AFTER)  # quiet long enough to give way to newcomers
    worker = await HttpWorker(manager.url, name="steady").register_and_sign_on()
    try:
        for _ in range(5):
            # a new connection each time
            async with aiohttp.ClientSession(manager.url) as fresh, fresh.get("/api/v3/version") as resp:
                assert resp.status == 200
        status, job = await manager.request("POST", "/api/v3/jobs", json=echo_job(repeats=1))
        assert status == 200, job
        status, task = await worker.claim()
        assert status == 200, task
        assert (await worker.complete(task["uuid"]))[0] == 204
        assert guard.open_connections <= cap
    finally:
        await worker.close()
        for _reader, writer in flood:
            writer.close()


async def test_a_long_poll_is_not_an_idle_connection(manager_factory):
    manager = await manager_factory(http_idle_timeout=0.3, http_header_timeout=0.3, http_body_timeout=0.3)
    worker = await _worker(manager)
    try:
        status, body = await worker.claim(wait=1.5)  # five times every timeout, and nothing to do
        assert status == 204, body
    finally:
        await worker.close()


async def test_when_every_connection_is_busy_a_newcomer_gets_503(manager_factory):
    cap = 6
    manager = await manager_factory(http_max_connections=cap)
    async with aiohttp.ClientSession() as session:
        streams = [await session.ws_connect(f"{manager.url}/api/v3/tablao/events") for _ in range(cap)]
        try:
            reader, writer = await _connect(manager)
            writer.write(b"GET /api/v3/version HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            said = await _closed_by_server(reader)
            assert said.startswith(b"HTTP/1.1 503") and b'"code": 503' in said
        finally:
            await streams.pop().close()
        async with asyncio.timeout(HANG_GUARD):
            while manager.service.server.guard.open_connections >= cap:
                await asyncio.sleep(0.02)
        async with aiohttp.ClientSession(manager.url) as fresh, fresh.get("/api/v3/version") as resp:
            assert resp.status == 200
        for stream in streams:
            await stream.close()


async def test_the_watchdog_looks_only_at_connections_with_a_request_under_way(manager_factory):
    """Long-polls and idle keep-alive connections cost the watchdog nothing (it walked every open
    connection every tick: 2-3% of the CPU with 10,000 workers); a half-sent request is still caught."""
    manager = await manager_factory(http_header_timeout=0.5, http_body_timeout=0.5)
    guard = manager.service.server.guard
    workers = [await HttpWorker(manager.url, name=f"poll{i}").register_and_sign_on() for i in range(3)]
    polls = [asyncio.create_task(w.claim(wait=3.0)) for w in workers]
    try:
        await asyncio.sleep(1.5)  # the long-polls wait; the watchdog ran a few times
        assert len(guard._open) >= 3 and not guard._watched
        reader, writer = await _connect(manager)
        writer.write(b"GET /api/v3/version HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the end
        await writer.drain()
        said = await _closed_by_server(reader)
        assert b"408" in said
        writer.close()
    finally:
        for poll in polls:
            poll.cancel()
        await asyncio.gather(*polls, return_exceptions=True)
        for w in workers:
            await w.close()
