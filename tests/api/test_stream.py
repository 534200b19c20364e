"""The live event stream: typed events, reconnect after the Manager restarts, gap notices."""

from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from app.api.client import ManagerClient
from app.api.events import (
    JOB_DID_CHANGE,
    TASK_LOG_DID_APPEND,
    EventMessage,
    JobUpdate,
    ManagerStarted,
    StreamGap,
    TaskLogUpdate,
)
from tests.conftest import echo_job
from tests.http_worker import HttpWorker


async def _next(items, want=lambda item: True, timeout: float = 10.0):
    async def find():
        async for item in items:
            if want(item):
                return item
    return await asyncio.wait_for(find(), timeout)


def _is_job_event(item) -> bool:
    return isinstance(item, EventMessage) and item.topic == JOB_DID_CHANGE


async def test_events_arrive_as_their_payload_models(manager):
    async with ManagerClient(manager.url) as client:
        stream = client.events(types=[JOB_DID_CHANGE])
        items = aiter(stream)
        waiting = asyncio.create_task(_next(items, _is_job_event))
        await asyncio.wait_for(stream.connected.wait(), 5)
        job = await client.submit_job(echo_job())
        event = await waiting
        assert isinstance(event.payload, JobUpdate) and event.payload.id == job.id
        await items.aclose()


async def test_task_log_lines_follow_a_watch(manager):
    worker = await HttpWorker(manager.url).register_and_sign_on()
    try:
        async with ManagerClient(manager.url) as client:
            await client.submit_job(echo_job())
            _status, task = await worker.claim()
            stream = client.events(types=[JOB_DID_CHANGE])
            items = aiter(stream)
            waiting = asyncio.create_task(_next(items, lambda i: isinstance(i, EventMessage)
                                                and i.topic == TASK_LOG_DID_APPEND))
            await asyncio.wait_for(stream.connected.wait(), 5)
            await stream.watch_task_log(task["uuid"])
            await asyncio.sleep(0.2)  # the subscribe command is handled before the update below
            await worker.update(task["uuid"], log="line one\n")
            event = await waiting
            assert event.payload == TaskLogUpdate(task_id=task["uuid"], log="line one\n", job_id=task["job"])
            await items.aclose()
    finally:
        await worker.close()


@pytest.mark.slow  # restarts the Manager and waits for the reconnect
async def test_stream_reconnects_after_the_manager_restarts_and_says_it_was_away(manager_factory):
    first = await manager_factory()
    port = first.service.port
    async with ManagerClient(first.url) as client:
        stream = client.events(max_backoff_s=0.5)
        items = aiter(stream)
        greeting = await _next(items)
        assert isinstance(greeting.payload, ManagerStarted) and greeting.payload.status is not None
        await first.stop()
        second = await manager_factory(listen=f"127.0.0.1:{port}")
        gap = await _next(items, lambda i: isinstance(i, StreamGap), timeout=20)
        assert "reconnected" in gap.reason and stream.connections == 2
        job = await client.submit_job(echo_job())
        event = await _next(items, lambda i: _is_job_event(i) and i.payload.id == job.id)
        assert event.payload.status == "queued"
        await items.aclose()
        assert second.url == first.url


async def _fake_stream_server(aiohttp_server, messages_per_connection: list[list[dict]]):
    """A websocket that sends each connection its list of messages and then closes it."""
    connections: list[list[str]] = []

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        received: list[str] = []
        connections.append(received)
        script = messages_per_connection[min(len(connections), len(messages_per_connection)) - 1]
        for msg in script:
            await ws.send_json(msg)
        if len(connections) < len(messages_per_connection):
            await ws.close()  # the server drops the socket
        else:
            async for msg in ws:
                received.append(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/api/v3/tablao/events", handler)
    return await aiohttp_server(app, host="127.0.0.1"), connections


def _job_message(seq: int | None) -> dict:
    data = {"id": f"job-{seq}", "updated": "2026-01-01T00:00:00Z", "status": "queued", "type": "echo",
            "priority": 50, "refresh_tasks": False, "steps_completed": 0, "steps_total": 1}
    return {"type": JOB_DID_CHANGE, "data": data, **({"seq": seq} if seq is not None else {})}


async def test_a_skip_in_sequence_numbers_is_a_gap(aiohttp_server):
    server, _ = await _fake_stream_server(aiohttp_server, [[_job_message(n) for n in (1, 2, 5, 6)]])
    async with ManagerClient(str(server.make_url("/"))) as client:
        items = aiter(client.events())
        got = [await _next(items) for _ in range(5)]
        await items.aclose()
    assert [type(i).__name__ for i in got] == ["EventMessage", "EventMessage", "StreamGap", "EventMessage",
                                                "EventMessage"]
    assert got[2].missed == 2 and got[3].seq == 5


async def test_a_dropped_socket_reconnects_resubscribes_and_is_a_gap(aiohttp_server):
    server, connections = await _fake_stream_server(
        aiohttp_server, [[_job_message(None)], [_job_message(None), {"type": "job_did_dance", "data": {}}]])
    async with ManagerClient(str(server.make_url("/"))) as client:
        stream = client.events(task_logs=["task-1"], max_backoff_s=0.2)
        items = aiter(stream)
        got = [await _next(items) for _ in range(4)]
        await asyncio.sleep(0.2)
        await items.aclose()
    assert isinstance(got[0], EventMessage) and isinstance(got[1], StreamGap) and got[1].missed is None
    assert isinstance(got[2].payload, JobUpdate)
    assert got[3].topic == "job_did_dance" and got[3].payload == {}, "unknown topics pass through as dicts"
    assert len(connections) == 2 and '"task_log": "task-1"' in connections[1][0]


async def test_a_message_that_breaks_the_contract_is_a_gap_not_the_end(aiohttp_server):
    broken = {"type": JOB_DID_CHANGE, "data": {"id": "no other fields"}}
    server, _ = await _fake_stream_server(aiohttp_server, [[broken, _job_message(None)]])
    async with ManagerClient(str(server.make_url("/"))) as client:
        items = aiter(client.events())
        got = [await _next(items) for _ in range(2)]
        await items.aclose()
    assert isinstance(got[0], StreamGap) and "contract" in got[0].reason and got[0].missed == 1
    assert isinstance(got[1].payload, JobUpdate)


async def test_a_closed_client_opens_nothing_new_and_its_stream_ends(manager):
    """Closing a client is for good: its stream stops instead of reconnecting on a new session that
    nobody would close, and a late request (a task that outlived its window) fails plainly."""
    from app.api.errors import ClientClosed

    client = ManagerClient(manager.url)
    assert (await client.version()).name
    stream = client.events(types=[JOB_DID_CHANGE])
    items = aiter(stream)
    reading = asyncio.create_task(_next(items))
    await asyncio.wait_for(stream.connected.wait(), 5)
    await client.close()  # the websocket ends with the session; the stream must not open another
    with pytest.raises(ClientClosed, match="was closed"):
        await asyncio.wait_for(reading, 10)
    with pytest.raises(ClientClosed):
        await client.version()
    assert client.transport._session is None, "no session made after closing"
