"""The live event stream: a websocket at /api/v3/tablao/events for the dashboard and web clients.

Each message is `{"type": "<event name>", "seq": N, "data": {...}}`; `seq` counts this
connection's messages from 1 up, so a skipped number means events were lost. A client may send
`{"op": "subscribe", "types": [...]}` to receive only some event types; by default it gets all
except task-log appends, which it asks for per task with `{"op": "subscribe", "task_log": "<uuid>"}`
(at most `MAX_TASK_LOGS` tasks per connection, ids of at most `MAX_TASK_ID` characters; others are
ignored). Where the app has a `TASK_LOG_FOLLOWS` (a hub), it is told of each task followed and left.

A client that does not keep up is disconnected (close code 1013, "try again later") once more
than `events_max_queued_bytes` of events wait for it, and one that stops answering pings is
dropped after `events_heartbeat` and a half; either way its connection is aborted, so its queued
bytes are freed at once instead of waiting for a flush that never comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

from aiohttp import WSCloseCode, WSMsgType, web

from app.api.errors import BadRequest
from app.api.events import ManagerStarted
from app.common import events as ev
from app.common.jsontext import JsonRejected, parse_json
from app.manager.web.event_outbox import EventOutbox
from app.manager.web.keys import BUS, FARM_STATUS, SETTINGS, TASK_LOG_FOLLOWS, TaskLogFollows

_log = logging.getLogger(__name__)
_CLOSE_TIMEOUT = 1.0  # how long a close frame may take to leave before the connection is cut
MAX_TASK_LOGS = 64  # task logs one connection follows at once
MAX_TASK_ID = 64


async def event_stream(request: web.Request) -> web.WebSocketResponse:
    config = request.app[SETTINGS].config
    heartbeat = config.events_heartbeat
    ws = web.WebSocketResponse(heartbeat=heartbeat if heartbeat > 0 else None)
    if not ws.can_prepare(request).ok:
        raise BadRequest("this is the live event stream, a websocket: connect with a websocket client "
                         "(a request with `Upgrade: websocket`), e.g. ws://HOST:PORT/api/v3/tablao/events")
    await ws.prepare(request)
    bus = request.app[BUS]
    # `?types=a,b` filters from the first message on; a later subscribe command can change it.
    query_types = request.query.get("types")
    task_logs: set[str] = set()
    state = {"types": set(query_types.split(",")) if query_types else None, "task_logs": task_logs}
    follows = request.app.get(TASK_LOG_FOLLOWS)
    dropping: list[asyncio.Task] = []

    def overflow(reason: str) -> None:
        dropping.append(asyncio.create_task(_drop(request, ws, sender, reason)))

    outbox = EventOutbox(lambda event: _wanted(event, state), config.events_max_queued_bytes,
                         overflow)
    sender = asyncio.create_task(_send_loop(ws, outbox))
    outbox.offer(ev.Event(ev.MANAGER_DID_START, ManagerStarted(status=request.app[FARM_STATUS].status).to_json()))
    bus.add_listener(outbox.offer)
    try:
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                _handle_command(msg.data, state, follows)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        bus.remove_listener(outbox.offer)
        outbox.clear()
        if follows is not None:
            for task_id in task_logs:
                follows.unfollow(task_id)
        sender.cancel()
        if dropping:
            await asyncio.gather(*dropping, return_exceptions=True)
        elif isinstance(ws.exception(), asyncio.TimeoutError):
            _log.info("event client %s stopped answering pings; dropped it", request.remote)
        _abort_if_stuck(request)
    return ws


async def _drop(request: web.Request, ws: web.WebSocketResponse, sender: asyncio.Task, reason: str) -> None:
    """Disconnect a client that fell behind: a close frame if it can still leave, then cut."""
    _log.info("event client %s is too slow (%s); disconnecting it", request.remote, reason)
    sender.cancel()
    with contextlib.suppress(Exception, asyncio.TimeoutError):
        async with asyncio.timeout(_CLOSE_TIMEOUT):
            await ws.close(code=WSCloseCode.TRY_AGAIN_LATER, message=b"too slow: events queued past the limit",
                           drain=False)
    _abort_if_stuck(request, always=True)


def _abort_if_stuck(request: web.Request, always: bool = False) -> None:
    """Abort the connection when bytes are still waiting for a client that does not read them.

    A plain close waits for the send buffer to empty first, which for such a client is never.
    """
    transport = request.transport
    if transport is not None and (always or transport.get_write_buffer_size() > 0):
        reset_on_close(transport)
        transport.abort()


def reset_on_close(transport: asyncio.BaseTransport) -> None:
    """Make closing send a reset, so the kernel drops the unsent bytes instead of keeping them."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def _handle_command(text: str, state: dict, follows: TaskLogFollows | None = None) -> None:
    try:
        cmd = parse_json(text)
    except JsonRejected:
        return
    if not isinstance(cmd, dict):
        return
    op = cmd.get("op")
    if op == "subscribe":
        if isinstance(cmd.get("types"), list):
            state["types"] = {t for t in cmd["types"] if isinstance(t, str)}
        task_id = cmd.get("task_log")
        if (isinstance(task_id, str) and 0 < len(task_id) <= MAX_TASK_ID and task_id not in state["task_logs"]
                and len(state["task_logs"]) < MAX_TASK_LOGS):
            state["task_logs"].add(task_id)
            if follows is not None:
                follows.follow(task_id)
    elif op == "unsubscribe" and cmd.get("task_log") in state["task_logs"]:
        state["task_logs"].discard(cmd["task_log"])
        if follows is not None:
            follows.unfollow(cmd["task_log"])


def _wanted(event: ev.Event, state: dict) -> bool:
    if event.name == ev.TASK_LOG_DID_APPEND:
        return event.data.get("task_id") in state["task_logs"]
    return state["types"] is None or event.name in state["types"]


async def _send_loop(ws: web.WebSocketResponse, outbox: EventOutbox) -> None:
    try:
        while not ws.closed:
            text, size = await outbox.next_message()
            await ws.send_str(text)
            outbox.sent(size)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except Exception:  # noqa: BLE001
        _log.exception("event stream sender failed")
