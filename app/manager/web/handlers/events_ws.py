"""The live event stream: a websocket at /api/v3/tablao/events for the dashboard and web clients.

Each message is `{"type": "<event name>", "data": {...}}`. A client may send
`{"op": "subscribe", "types": [...]}` to receive only some event types; by default it gets all
except task-log appends, which it asks for per task with `{"op": "subscribe", "task_log": "<uuid>"}`.
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import WSMsgType, web

from app.api.events import ManagerStarted, encode_event
from app.common import events as ev
from app.manager.web.keys import SERVICES

_log = logging.getLogger(__name__)


async def event_stream(request: web.Request) -> web.WebSocketResponse:
    ws = web.WebSocketResponse(heartbeat=20.0)
    await ws.prepare(request)
    bus = request.app[SERVICES].bus
    sub = bus.subscribe(None)
    # `?types=a,b` filters from the first message on; a later subscribe command can change it.
    query_types = request.query.get("types")
    state = {"types": set(query_types.split(",")) if query_types else None, "task_logs": set()}
    sender = asyncio.create_task(_send_loop(ws, sub, state))
    try:
        greeting = encode_event(ManagerStarted(status=request.app[SERVICES].farm_status.status))
        if state["types"] is None or ev.MANAGER_DID_START in state["types"]:
            await ws.send_json(greeting)
        async for msg in ws:
            if msg.type == WSMsgType.TEXT:
                _handle_command(msg.data, state)
            elif msg.type == WSMsgType.ERROR:
                break
    finally:
        sender.cancel()
        bus.unsubscribe(sub)
    return ws


def _handle_command(text: str, state: dict) -> None:
    try:
        cmd = json.loads(text)
    except json.JSONDecodeError:
        return
    if not isinstance(cmd, dict):
        return
    op = cmd.get("op")
    if op == "subscribe":
        if isinstance(cmd.get("types"), list):
            state["types"] = set(cmd["types"])
        if isinstance(cmd.get("task_log"), str):
            state["task_logs"].add(cmd["task_log"])
    elif op == "unsubscribe" and isinstance(cmd.get("task_log"), str):
        state["task_logs"].discard(cmd["task_log"])


def _wanted(event: ev.Event, state: dict) -> bool:
    if event.name == ev.TASK_LOG_DID_APPEND:
        return event.data.get("task_id") in state["task_logs"]
    return state["types"] is None or event.name in state["types"]


async def _send_loop(ws: web.WebSocketResponse, sub, state: dict) -> None:
    try:
        while not ws.closed:
            event = await sub.queue.get()
            if _wanted(event, state):
                await ws.send_json(event.to_json())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except Exception:  # noqa: BLE001
        _log.exception("event stream sender failed")
