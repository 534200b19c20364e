"""Bounds on HTTP connections: how many may be open, and how long a slow one may hold its socket.

aiohttp closes a connection that sits idle between requests (`keepalive_timeout`, set by
`HttpServer` from `http_idle_timeout`), but nothing in it bounds a client that sends half a request
line and then waits, or announces a body and stalls, and nothing caps the number of sockets: past
the descriptor limit `accept()` fails in a loop and every client times out. This module adds:

- `ConnectionGuard`, the protocol factory the listening socket uses instead of aiohttp's `Server`.
  At `max_connections` open connections, a new one takes the place of the connection that has
  been idle longest (between requests, or still sending its headers), if that one has been quiet
  for `EVICTABLE_AFTER`; otherwise (all are long-polls, event streams, requests in progress, or
  just active) the new one gets a 503 and is closed at once.
  Either way the number of open sockets stays under the descriptor limit, a flood of idle
  connections cannot lock out a worker or a submission, and the busy connections keep being served.
- A watchdog (`ConnectionGuard.run`) that closes connections whose request headers take longer
  than `header_timeout` to arrive, and requests whose body stops arriving for `body_timeout`.
- `connection_tracking_middleware`, which tells the guard when a request is being handled.
  A handler that is busy (a worker's long-poll, the event websocket) is never idle: only
  missing bytes from the client count.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections import OrderedDict
from dataclasses import dataclass

from aiohttp import web

_log = logging.getLogger(__name__)

_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: %d\r\n\r\n%s"
)
_REFUSAL_BODY = b'{"code": 503, "message": "the Manager has too many open connections; retry shortly"}'
_HEADER_TIMEOUT_REPLY = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s"
)
_HEADER_TIMEOUT_BODY = b'{"code": 408, "message": "the request headers took too long to arrive"}'
# A connection must have been quiet this long before a newcomer may take its place: a worker's
# keep-alive connection between two requests is not fair game, a flood of silent sockets is.
EVICTABLE_AFTER = 1.0


def descriptor_limit() -> int:
    """The soft RLIMIT_NOFILE of this process right now (0 when the platform has none)."""
    try:
        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (OSError, ValueError):
        return 0
    return 0 if soft == resource.RLIM_INFINITY else soft


def connection_cap(configured: int, fd_limit: int) -> int:
    """How many connections may be open: `configured`, or all descriptors but a reserve.

    The reserve (a tenth of the limit, at least 64, at most 1,024) is left for the database, task
    logs, Shaman files and subprocesses. A configured cap above what the limit allows is lowered.
    """
    if fd_limit <= 0:
        return configured if configured > 0 else 100_000
    reserve = min(max(64, fd_limit // 10), 1024)
    ceiling = max(fd_limit - reserve, 16)
    if configured <= 0:
        return ceiling
    if configured > ceiling:
        _log.warning("http_max_connections %d is above what %d descriptors allow; using %d",
                     configured, fd_limit, ceiling)
        return ceiling
    return configured


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int
    header_timeout: float
    body_timeout: float

    @property
    def check_interval(self) -> float:
        shortest = min(t for t in (self.header_timeout, self.body_timeout, 4.0) if t > 0)
        return min(max(shortest / 4, 0.05), 1.0)


@dataclass(eq=False, slots=True)
class _ConnState:
    transport: asyncio.Transport | None = None
    last_rx: float = 0.0
    idle_since: float = 0.0
    partial_since: float | None = None  # first byte of a request whose handler has not started
    request: web.BaseRequest | None = None
    request_started: float = 0.0


class _GuardedProtocol(asyncio.Protocol):
    """Passes everything to aiohttp's request handler and notes when bytes arrive."""

    __slots__ = ("_guard", "_inner", "state")

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol):
        self._guard, self._inner = guard, inner
        self.state = _ConnState()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.state.transport = transport  # type: ignore[assignment]
        self.state.last_rx = self._guard.now()
        self._guard._opened(self)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        state = self.state
        state.last_rx = now = self._guard.now()
        if state.request is None:
            if state.partial_since is None:
                state.partial_since = now
            self._guard._touched(self)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard._closed(self)
        self.state.request = None
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


class _Refused(asyncio.Protocol):
    """Answers 503 and closes: the cap was reached when this connection was accepted."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(_REFUSAL % (len(_REFUSAL_BODY), _REFUSAL_BODY))  # type: ignore[attr-defined]
        transport.close()


class ConnectionGuard:
    """Protocol factory for the listening socket: caps open connections, times out slow ones."""

    def __init__(self, server: web.Server, limits: ConnectionLimits):
        self._server = server
        self.limits = limits
        self._loop = asyncio.get_running_loop()
        self._open: set[_GuardedProtocol] = set()
        # Connections between requests (or still sending headers), least recently active first.
        self._idle: OrderedDict[_GuardedProtocol, None] = OrderedDict()
        # Connections the watchdog looks at: those that sent part of a request (or a body is still due).
        # Not every open one: with 10,000 long-polling workers, walking them all every tick cost 2-3%
        # of the Manager's CPU, and none of their requests can be slow to arrive.
        self._watched: set[_GuardedProtocol] = set()
        self._reserved = 0  # protocols handed out whose connection_made has not run yet
        self._evicted = self._refused = 0
        self._crowd_logged_at = -1e9
        self.closed_slow_headers = 0
        self.closed_stalled_bodies = 0

    def now(self) -> float:
        return self._loop.time()

    @property
    def open_connections(self) -> int:
        return len(self._open) + self._reserved

    def __call__(self) -> asyncio.Protocol:
        if self.open_connections >= self.limits.max_connections and not self._evict_idlest():
            self._refused += 1
            self._log_crowding()
            return _Refused()
        self._reserved += 1
        return _GuardedProtocol(self, self._server())

    def _evict_idlest(self) -> bool:
        quiet_since = self.now() - EVICTABLE_AFTER
        while self._idle:
            proto = next(iter(self._idle))
            if max(proto.state.last_rx, proto.state.idle_since) > quiet_since:
                return False  # the idlest is still recent, so every idle one is
            del self._idle[proto]
            self._open.discard(proto)  # its descriptor is as good as free: the count says so now
            transport = proto.state.transport
            if transport is None or transport.is_closing():
                continue
            transport.abort() if transport.get_write_buffer_size() else transport.close()
            self._evicted += 1
            self._log_crowding()
            return True
        return False

    def _log_crowding(self) -> None:
        now = self.now()
        if now - self._crowd_logged_at >= 10.0:
            _log.warning("at the cap of %d open connections: closed %d idle ones for newcomers, "
                         "refused %d (all busy)", self.limits.max_connections, self._evicted, self._refused)
            self._crowd_logged_at = now
            self._evicted = self._refused = 0

    def _opened(self, proto: _GuardedProtocol) -> None:
        self._reserved = max(self._reserved - 1, 0)
        self._open.add(proto)
        proto.state.idle_since = self.now()
        self._idle[proto] = None

    def _touched(self, proto: _GuardedProtocol) -> None:
        self._watched.add(proto)  # bytes of a request whose handler has not started
        if proto in self._idle:
            self._idle.move_to_end(proto)

    def _busy(self, proto: _GuardedProtocol) -> None:
        self._idle.pop(proto, None)
        request = proto.state.request
        if request is not None and not request.content.is_eof():
            self._watched.add(proto)  # its body is still due
        else:
            self._watched.discard(proto)

    def _done(self, proto: _GuardedProtocol) -> None:
        if proto in self._open:
            proto.state.idle_since = self.now()
            self._idle[proto] = None

    def _closed(self, proto: _GuardedProtocol) -> None:
        self._open.discard(proto)
        self._watched.discard(proto)
        self._idle.pop(proto, None)

    # --- the watchdog -----------------------------------------------------------------------
    async def run(self) -> None:
        """Close slow connections until cancelled."""
        while True:
            await asyncio.sleep(self.limits.check_interval)
            self.close_slow()

    def close_slow(self) -> None:
        now = self.now()
        headers = bodies = 0
        limits = self.limits
        for proto in list(self._watched):
            state = proto.state
            transport = state.transport
            if transport is None or transport.is_closing() or proto not in self._open:
                self._watched.discard(proto)
                continue
            if state.request is None:
                if state.partial_since is None:
                    self._watched.discard(proto)  # between requests: watched again when bytes come
                elif limits.header_timeout > 0 and now - state.partial_since > limits.header_timeout:
                    body = _HEADER_TIMEOUT_BODY
                    transport.write(_HEADER_TIMEOUT_REPLY % (len(body), body))
                    transport.abort() if transport.get_write_buffer_size() else transport.close()
                    headers += 1
            elif state.request.content.is_eof():
                self._watched.discard(proto)  # its body is in: nothing of this request can be slow now
            elif limits.body_timeout > 0 and _waiting_for_body(state, transport, now, limits.body_timeout):
                transport.abort()
                bodies += 1
        if headers or bodies:
            self.closed_slow_headers += headers
            self.closed_stalled_bodies += bodies
            _log.info("closed %d connections with slow request headers and %d with stalled bodies",
                      headers, bodies)


def _waiting_for_body(state: _ConnState, transport: asyncio.Transport, now: float, timeout: float) -> bool:
    """A request whose body is still due and has not moved for `timeout` seconds.

    While the transport is paused (the handler has not read what is buffered) the wait is ours,
    not the client's, so it does not count.
    """
    request = state.request
    if request is None or request.content.is_eof() or not transport.is_reading():
        return False
    return now - max(state.last_rx, state.request_started) > timeout


@web.middleware
async def connection_tracking_middleware(request: web.Request, handler):
    """Marks the connection busy while its request is handled (see `ConnectionGuard`)."""
    transport = request.transport
    proto = transport.get_protocol() if transport is not None else None
    if not isinstance(proto, _GuardedProtocol):
        return await handler(request)
    state, guard = proto.state, proto._guard
    state.request, state.request_started, state.partial_since = request, guard.now(), None
    guard._busy(proto)
    try:
        return await handler(request)
    finally:
        if state.request is request:
            state.request = None
            guard._done(proto)
