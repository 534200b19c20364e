"""The event websocket under clients that do not keep up, and its sequence numbers (`seq`), by which
a client tells that it missed events.

Real Manager on a real port; the events go through its real bus. The non-reading client is a raw
socket that completes the websocket handshake and then never reads, so nothing on the client
side drains the Manager's send buffer.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import logging
import os
import socket

import aiohttp
import psutil

from app.common import events as ev

HANG_GUARD = 30.0
MIB = 1024 * 1024


async def _raw_subscriber(manager) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A websocket client that reads the handshake answer and nothing after it."""
    sock = socket.create_connection(("127.0.0.1", manager.service.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /api/v3/tablao/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
                 .encode())
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 101"), head
    return reader, writer


async def _wait_closed(reader: asyncio.StreamReader) -> None:
    async with asyncio.timeout(HANG_GUARD):
        while True:
            try:
                if not await reader.read(65536):
                    return
            except ConnectionError:
                return


def _rss() -> int:
    return psutil.Process().memory_info().rss


async def test_a_client_that_never_reads_is_dropped_and_memory_stays_bounded(manager, caplog):
    caplog.set_level(logging.INFO, logger="app.manager.web.handlers.events_ws")
    reader, writer = await _raw_subscriber(manager)
    gc.collect()
    before = peak = _rss()
    for i in range(400):  # 400 MiB of events, each with its own 1 MiB job name
        manager.services.bus.publish(ev.JOB_DID_CHANGE, {"id": f"job-{i}", "name": f"{i}" + "n" * MIB})
        await asyncio.sleep(0)
        if i % 25 == 0:
            peak = max(peak, _rss())
    await _wait_closed(reader)
    writer.close()
    gc.collect()
    after = _rss()
    print(f"rss before {before // MIB} MiB, peak {peak // MIB} MiB, after {after // MIB} MiB")
    assert peak - before < 200 * MIB, f"resident memory grew by {(peak - before) // MIB} MiB"
    assert after - before < 200 * MIB
    dropped = [r for r in caplog.records if "too slow" in r.getMessage()]
    assert len(dropped) == 1 and dropped[0].levelno == logging.INFO
    status, _ = await manager.request("GET", "/api/v3/version")  # and the Manager carries on
    assert status == 200


async def test_a_client_that_stops_answering_pings_is_dropped(manager_factory, caplog):
    caplog.set_level(logging.INFO, logger="app.manager.web.handlers.events_ws")
    manager = await manager_factory(events_heartbeat=0.3)
    reader, writer = await _raw_subscriber(manager)  # never answers the Manager's pings
    await _wait_closed(reader)
    writer.close()
    assert any("stopped answering pings" in r.getMessage() for r in caplog.records)


async def test_each_message_carries_the_next_sequence_number(manager):
    # Only these two topics: the Manager's own events (a farm status change) must not interleave.
    url = f"{manager.url}/api/v3/tablao/events?types={ev.MANAGER_DID_START},{ev.WORKER_DID_CHANGE}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=HANG_GUARD)
        assert hello["type"] == ev.MANAGER_DID_START and hello["seq"] == 1
        for i in range(200):
            manager.services.bus.publish(ev.WORKER_DID_CHANGE, {"id": f"w{i}", "name": "w"})
            if i % 50 == 0:
                await asyncio.sleep(0)
        seqs = []
        while len(seqs) < 200:
            msg = await ws.receive_json(timeout=HANG_GUARD)
            assert msg["type"] == ev.WORKER_DID_CHANGE and msg["data"]["id"] == f"w{len(seqs)}"
            seqs.append(msg["seq"])
        assert seqs == list(range(2, 202))


async def test_sequence_numbers_count_only_the_events_a_client_asked_for(manager):
    async with aiohttp.ClientSession() as session:
        url = f"{manager.url}/api/v3/tablao/events?types={ev.JOB_DID_CHANGE}"
        async with session.ws_connect(url) as ws:
            await asyncio.sleep(0.05)  # the subscription is in place once the handler has run
            manager.services.bus.publish(ev.WORKER_DID_CHANGE, {"id": "w"})
            manager.services.bus.publish(ev.JOB_DID_CHANGE, {"id": "j1"})
            manager.services.bus.publish(ev.WORKER_DID_CHANGE, {"id": "w"})
            manager.services.bus.publish(ev.JOB_DID_CHANGE, {"id": "j2"})
            first, second = await ws.receive_json(timeout=HANG_GUARD), await ws.receive_json(timeout=HANG_GUARD)
            assert (first["seq"], first["data"]["id"]) == (1, "j1")
            assert (second["seq"], second["data"]["id"]) == (2, "j2")


async def test_task_log_subscriptions_are_bounded_per_connection(manager):
    """At most 64 task logs per connection, ids of at most 64 characters: more, longer or not a
    string are ignored and the stream goes on."""
    from app.manager.web.handlers.events_ws import MAX_TASK_LOGS

    url = f"{manager.url}/api/v3/tablao/events?types={ev.MANAGER_DID_START}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.receive_json(timeout=5)  # manager_did_start
        for i in range(MAX_TASK_LOGS):
            await ws.send_json({"op": "subscribe", "task_log": f"task-{i}"})
        for junk in ("one-too-many", "x" * 100_000, ["a list"], ""):
            await ws.send_json({"op": "subscribe", "task_log": junk})
        await ws.send_json({"op": "unsubscribe", "task_log": "never followed"})
        await asyncio.sleep(0.2)
        for task_id in ("one-too-many", "x" * 100_000, "task-0", f"task-{MAX_TASK_LOGS - 1}"):
            manager.services.bus.publish(ev.TASK_LOG_DID_APPEND, {"task_id": task_id, "log": f"line of {task_id[:20]}\n"})
        got = [await ws.receive_json(timeout=5) for _ in range(2)]
        assert [m["data"]["task_id"] for m in got] == ["task-0", f"task-{MAX_TASK_LOGS - 1}"], got
        # Leaving one makes room for another.
        await ws.send_json({"op": "unsubscribe", "task_log": "task-0"})
        await ws.send_json({"op": "subscribe", "task_log": "one-too-many"})
        await asyncio.sleep(0.2)
        manager.services.bus.publish(ev.TASK_LOG_DID_APPEND, {"task_id": "task-0", "log": "gone\n"})
        manager.services.bus.publish(ev.TASK_LOG_DID_APPEND, {"task_id": "one-too-many", "log": "now\n"})
        assert (await ws.receive_json(timeout=5))["data"]["task_id"] == "one-too-many"
