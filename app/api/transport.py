"""The one HTTP transport under every client of a Manager (dashboard, worker, Shaman uploads).

It owns the aiohttp session (this is the only module of `app` that builds one), the timeouts, the
auth headers (a worker's HTTP Basic credentials, the optional access token, the admin token), JSON
decoding, and the mapping of failures onto `app.api.errors`:

* no answer (refused, reset, timed out) -> `ManagerUnreachable`;
* an error status -> `HttpError` with the Manager's `{code, message}` (by `call`; `send` returns
  the status so that a caller for whom a status is an answer, like the worker's 204/409/423, can
  read it);
* JSON where none parses, or a body of the wrong kind -> `ContractError`.

Header names and the API prefix come from `app.api.headers`, shared with the Manager.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from app.api.errors import ClientClosed, ContractError, HttpError, ManagerUnreachable
from app.api.headers import ADMIN_TOKEN_HEADER

_log = logging.getLogger(__name__)

#: Seconds on top of a long-poll wait before the client gives up on the request.
LONG_POLL_MARGIN_S = 10.0


def basic_auth(user: str, password: str) -> str:
    """An HTTP Basic `Authorization` value (built by hand: aiohttp 3.14 deprecates BasicAuth)."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def plain_session(*, connect_timeout_s: float = 10.0, read_timeout_s: float | None = 60.0) -> aiohttp.ClientSession:
    """A session for a caller that speaks something other than the Manager's request/answer API (a
    websocket, a file streamed in chunks): no base URL, but still a bound on connecting and on each
    read, so a peer that stops answering cannot hold the caller forever."""
    return aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=connect_timeout_s,
                                                               sock_read=read_timeout_s))


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: its status, its body (decoded JSON, text, or None when empty) and its headers."""

    status: int
    body: Any
    headers: Mapping[str, str]

    @property
    def message(self) -> str:
        """The `message` of an `{code, message}` body, else the body as text (short)."""
        if isinstance(self.body, dict):
            return str(self.body.get("message", self.body))
        return "" if self.body is None else str(self.body)[:500]

    def error(self) -> HttpError:
        code = self.body.get("code") if isinstance(self.body, dict) else None
        return HttpError(self.status, self.message, code if isinstance(code, int) else None)


class Transport:
    """Requests to one Manager. Use `async with` or call `close()`.

    `worker_auth` returns the worker's (id, secret) or None; it is read for each request that asks
    for worker auth, so credentials obtained later (registration) are picked up.
    """

    def __init__(
        self,
        base_url: str,
        *,
        access_token: str = "",
        admin_token: str = "",
        worker_auth: Callable[[], tuple[str, str] | None] | None = None,
        user_agent: str = "",
        timeout_s: float | None = 30.0,
        connect_timeout_s: float = 10.0,
    ):
        self.base_url = base_url.rstrip("/")
        self.access_token = access_token
        self.admin_token = admin_token
        self.worker_auth = worker_auth
        self._user_agent = user_agent
        self._timeout = aiohttp.ClientTimeout(total=timeout_s, connect=connect_timeout_s)
        self._connect_timeout_s = connect_timeout_s
        self._session: aiohttp.ClientSession | None = None
        self._closed = False

    async def __aenter__(self) -> Transport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        self._closed = True
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise ClientClosed(f"the client of the Manager at {self.base_url} was closed")
        if self._session is None or self._session.closed:
            headers = {"User-Agent": self._user_agent} if self._user_agent else {}
            self._session = aiohttp.ClientSession(headers=headers, timeout=self._timeout)
        return self._session

    def headers(self, worker: bool = False) -> dict[str, str]:
        """Auth headers: worker Basic auth when asked for (else the access token), the admin token."""
        out: dict[str, str] = {}
        creds = self.worker_auth() if worker and self.worker_auth is not None else None
        if creds is not None:
            out["Authorization"] = basic_auth(*creds)
        elif self.access_token:
            out["Authorization"] = f"Bearer {self.access_token}"
        if self.admin_token:
            out[ADMIN_TOKEN_HEADER] = self.admin_token
        return out

    def timeout(self, total_s: float | None) -> aiohttp.ClientTimeout:
        return aiohttp.ClientTimeout(total=total_s, connect=self._connect_timeout_s)

    async def send(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        data: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        worker: bool = False,
        timeout: aiohttp.ClientTimeout | None = None,
        raw: bool = False,
        follow_redirects: bool = True,
    ) -> Reply:
        """Send one request and return its `Reply`, whatever the status. `raw`: keep the body as text."""
        hdrs = self.headers(worker)
        if headers:
            hdrs.update(headers)
        kwargs: dict[str, Any] = {"headers": hdrs, "params": params, "allow_redirects": follow_redirects}
        if json_body is not None:
            kwargs["json"] = json_body
        if data is not None:
            kwargs["data"] = data
        if timeout is not None:
            kwargs["timeout"] = timeout
        try:
            async with self.session.request(method, self.base_url + path, **kwargs) as resp:
                body = await _read_body(resp, raw)
                return Reply(resp.status, body, resp.headers)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ManagerUnreachable(
                f"cannot reach the Manager at {self.base_url} ({method} {path}): "
                f"{type(exc).__name__}{': ' + str(exc) if str(exc) else ''}") from exc

    async def call(self, method: str, path: str, *, ok: tuple[int, ...] = (200, 201, 204), **kwargs: Any) -> Any:
        """`send`, then the body of an `ok` status, or `HttpError` for any other."""
        reply = await self.send(method, path, **kwargs)
        if reply.status not in ok:
            raise reply.error()
        return reply.body

    async def call_object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        """`call` for operations that answer a JSON object; `ContractError` when they do not."""
        body = await self.call(method, path, ok=(200, 201), **kwargs)
        if not isinstance(body, dict):
            raise ContractError(f"{method} {path}: expected a JSON object, got {type(body).__name__}")
        return body

    async def websocket(self, path: str, *, params: Mapping[str, str] | None = None,
                        heartbeat: float = 20.0) -> aiohttp.ClientWebSocketResponse:
        """Open a websocket; `ManagerUnreachable` when the Manager cannot be reached, `HttpError` when it refuses."""
        try:
            return await self.session.ws_connect(
                self.base_url + path, params=params, heartbeat=heartbeat, headers=self.headers())
        except aiohttp.WSServerHandshakeError as exc:
            raise HttpError(exc.status, exc.message) from exc
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise ManagerUnreachable(f"cannot reach the Manager at {self.base_url}: {type(exc).__name__}: {exc}") from exc


async def _read_body(resp: aiohttp.ClientResponse, raw: bool) -> Any:
    data = await resp.read()
    if not data:
        return None
    text = data.decode("utf-8", errors="replace")
    if raw or "json" not in (resp.content_type or ""):
        return text
    try:
        return json.loads(text)
    except ValueError as exc:
        if resp.status >= 400:
            return text  # an error page from a proxy: its status says enough
        raise ContractError(f"the Manager sent broken JSON ({resp.status}): {exc}") from exc


async def text_messages(ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[str]:
    """The text messages of a websocket until it closes."""
    async for msg in ws:
        if msg.type == aiohttp.WSMsgType.TEXT:
            yield msg.data
        elif msg.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
            break
