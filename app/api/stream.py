"""The live event stream a client can trust: reconnects by itself and says when it missed events.

`EventStream` is an async iterator over the Manager's websocket (`/api/v3/tablao/events`). It
yields an `EventMessage` per event and a `StreamGap` whenever the owner may have missed some:

* after it reconnected (the Manager restarted, the network dropped, the socket was closed): events
  of the time away are lost;
* when the Manager's `seq` numbers skip (the Manager dropped events for a slow client).

On a gap, a dashboard re-fetches what it shows. Without `seq` (a Flamenco-style Manager) only
reconnects are noticed. The stream retries with exponential backoff (capped at `max_backoff_s`)
until the caller stops iterating or calls `close()`; after each reconnect it subscribes again to
the same types and task logs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import aiohttp

from app.api.errors import ClientClosed, ClientError, ContractError, HttpError
from app.api.events import EventMessage, StreamGap, decode_event
from app.api.headers import TABLAO_PREFIX
from app.api.transport import Transport, text_messages

_log = logging.getLogger(__name__)

EVENTS_PATH = f"{TABLAO_PREFIX}/events"

StreamItem = EventMessage | StreamGap


class EventStream:
    """Iterate once: `async for item in stream`. Safe to `watch_task_log` while iterating."""

    def __init__(self, transport: Transport, *, types: list[str] | None = None,
                 task_logs: list[str] | None = None, max_backoff_s: float = 10.0,
                 first_backoff_s: float = 0.2):
        self._transport = transport
        self._types = list(types) if types else None
        self._task_logs: set[str] = set(task_logs or ())
        self._max_backoff_s = max_backoff_s
        self._first_backoff_s = first_backoff_s
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        self.connected = asyncio.Event()
        #: How many times the stream connected (1 after the first connection).
        self.connections = 0

    def __aiter__(self) -> AsyncGenerator[StreamItem, None]:
        return self._iterate()

    async def close(self) -> None:
        self._closed = True
        if self._ws is not None:
            await self._ws.close()

    async def watch_task_log(self, task_id: str) -> None:
        """Also receive that task's log lines (kept across reconnects)."""
        self._task_logs.add(task_id)
        await self._send({"op": "subscribe", "task_log": task_id})

    async def unwatch_task_log(self, task_id: str) -> None:
        self._task_logs.discard(task_id)
        await self._send({"op": "unsubscribe", "task_log": task_id})

    async def _send(self, command: dict[str, Any]) -> None:
        ws = self._ws
        if ws is not None and not ws.closed:
            try:
                await ws.send_json(command)
            except (ConnectionError, aiohttp.ClientError) as exc:
                _log.debug("event stream command not sent (resent after reconnecting): %s", exc)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse:
        params = {"types": ",".join(self._types)} if self._types else None
        ws = await self._transport.websocket(EVENTS_PATH, params=params)
        for task_id in sorted(self._task_logs):
            await ws.send_json({"op": "subscribe", "task_log": task_id})
        return ws

    async def _iterate(self) -> AsyncGenerator[StreamItem, None]:
        backoff = self._first_backoff_s
        away: str | None = None
        try:
            while not self._closed:
                try:
                    self._ws = await self._connect()
                except HttpError as exc:
                    if exc.status in (401, 403, 404):
                        raise  # retrying cannot help: wrong token, or no event stream at this URL
                    away = away or f"the Manager refused the event stream: {exc}"
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff_s)
                    continue
                except ClientClosed:
                    raise  # its owner closed the client: nothing to reconnect with
                except ClientError as exc:
                    away = away or f"cannot reach the Manager's event stream: {exc}"
                    _log.info("event stream: %s; retrying in %.1fs", exc, backoff)
                    await asyncio.sleep(backoff * (0.8 + 0.4 * random.random()))
                    backoff = min(backoff * 2, self._max_backoff_s)
                    continue
                self.connections += 1
                self.connected.set()
                if away is not None:
                    yield StreamGap(f"reconnected after: {away}")
                backoff, last_seq = self._first_backoff_s, None
                async for item in self._messages(self._ws):
                    if isinstance(item, EventMessage) and item.seq is not None:
                        if last_seq is not None and item.seq > last_seq + 1:
                            yield StreamGap(f"the Manager dropped {item.seq - last_seq - 1} events", item.seq - last_seq - 1)
                        last_seq = item.seq
                    yield item
                self.connected.clear()
                code = self._ws.close_code
                # 1013: the Manager dropped this client for falling behind; events were lost.
                away = f"the event stream closed (code {code})" if code else "the event stream closed"
                if not self._closed:
                    _log.info("event stream closed; reconnecting")
        finally:
            self.connected.clear()
            if self._ws is not None:
                await self._ws.close()
                self._ws = None

    async def _messages(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[StreamItem]:
        try:
            async for text in text_messages(ws):
                try:
                    yield decode_event(json.loads(text))
                except (ValueError, ContractError) as exc:
                    # One bad message must not end the stream; the owner learns that it lost one.
                    _log.warning("event stream: message breaks the contract: %s", exc)
                    yield StreamGap(f"a message broke the contract: {exc}", 1)
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            _log.info("event stream lost: %s", exc)
