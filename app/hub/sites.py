"""`SiteBook`: the sites a hub accepts, their join tokens, which are connected now, and what each
last said it offers (job types, tags, workers, load).

Tokens are made here (`secrets.token_urlsafe(32)`) and kept only as their hash. What a site said
is kept in memory for routing and the views, and in the store (`hub_sites.info`) so that a hub
just restarted can still route to a site that has not reconnected yet, and show when it was last
heard from.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from app.api.errors import ApiError, Forbidden
from app.common.clock import Clock, to_rfc3339
from app.hub.config import HubConfig
from app.hub.routing import SiteView
from app.manager.hub_link.settings import check_site_name
from app.manager.persistence import hub_records as records
from app.manager.persistence.db import Store

_log = logging.getLogger(__name__)

HEARD_WRITE_EVERY = 5.0  # seconds: "last heard" is written to the store at most this often per site


class Unauthorized(ApiError):
    status = 401


@dataclass
class SiteConnection:
    """One site's live websocket; sends are serialised so messages never interleave."""

    name: str
    ws: web.WebSocketResponse
    since: dt.datetime
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def send(self, message: dict[str, Any]) -> bool:
        async with self.lock:
            if self.ws.closed:
                return False
            try:
                await self.ws.send_json(message)
            except (ConnectionError, RuntimeError):
                return False
            return True


@dataclass
class SiteState:
    name: str
    token_hash: str
    info: dict[str, Any]
    last_heard: dt.datetime | None
    cursor: str = ""
    written_heard: float = 0.0


class SiteBook:
    def __init__(self, config: HubConfig, store: Store, clock: Clock):
        self.config, self.store, self.clock = config, store, clock
        self.states: dict[str, SiteState] = {}
        self.connections: dict[str, SiteConnection] = {}

    async def load(self) -> None:
        for rec in await self.store.call(records.sites):
            self.states[rec.name] = SiteState(rec.name, rec.token_hash, rec.info, rec.last_heard_at, rec.cursor)

    # --- joining ---------------------------------------------------------------------------------
    async def add(self, name: str) -> str:
        """Make a join token for site `name` (a new one replaces the old); returns the token."""
        try:
            check_site_name(name)
        except ValueError as exc:
            raise ApiError(str(exc), status=400) from None
        if not self.config.accepts(name):
            raise ApiError(f"site {name!r} is not in this hub's `sites` list; add it to {self.config.path} first",
                           status=400)
        token = secrets.token_urlsafe(32)
        hashed = records.token_hash(token)
        await self.store.call(records.set_site_token, name, hashed, self._now())
        state = self.states.get(name)
        if state is None:
            self.states[name] = SiteState(name, hashed, {}, None)
        else:
            state.token_hash = hashed
        return token

    async def remove(self, name: str) -> bool:
        removed = await self.store.call(records.remove_site, name) > 0
        self.states.pop(name, None)
        conn = self.connections.pop(name, None)
        if conn is not None:
            await conn.ws.close(message=b"site removed from the hub")
        return removed

    async def authenticate(self, name: str, token: str | None) -> None:
        """Return when `token` is site `name`'s, else 401/403 that never says which of the two was wrong.

        The site's record is read afresh: `tablao hub add-site` may have made or replaced its token
        while this hub runs."""
        if not name or not token:
            raise Unauthorized("a site connects with `X-Tablao-Site: <name>` and `Authorization: Bearer <join "
                               "token>`; the hub's admin makes the token with `tablao hub add-site NAME`")
        rec = await self.store.call(records.site, name[:64]) if len(name) <= 64 else None
        good = (rec is not None and self.config.accepts(name)
                and hmac.compare_digest(records.token_hash(token), rec.token_hash))
        if not good:
            _log.warning("refused a site link for %r: unknown site or wrong token", name[:64])
            raise Forbidden(f"site {name[:64]!r} is not joined to this hub, or its token is not the one "
                            "`tablao hub add-site` printed for it")
        assert rec is not None
        state = self.states.get(name)
        if state is None:
            self.states[name] = SiteState(name, rec.token_hash, rec.info, rec.last_heard_at, rec.cursor)
        else:
            state.token_hash = rec.token_hash

    # --- what sites say ----------------------------------------------------------------------------
    async def connected(self, conn: SiteConnection, info: dict[str, Any]) -> SiteConnection | None:
        """Record a new connection (returned: the one it replaces, to close) and the site's hello."""
        old = self.connections.get(conn.name)
        self.connections[conn.name] = conn
        await self.heard(conn.name, info, force=True)
        return old

    def disconnected(self, conn: SiteConnection) -> None:
        if self.connections.get(conn.name) is conn:
            del self.connections[conn.name]

    async def heard(self, name: str, info: dict[str, Any] | None = None, force: bool = False) -> None:
        state = self.states[name]
        state.last_heard = self._now()
        if info is not None:
            state.info = {**state.info, **info}
        loop_now = asyncio.get_running_loop().time()
        if force or info is not None or loop_now - state.written_heard >= HEARD_WRITE_EVERY:
            state.written_heard = loop_now
            await self.store.call(records.site_heard, name, state.last_heard,
                                  state.info if info is not None else None)

    def connection(self, name: str) -> SiteConnection | None:
        conn = self.connections.get(name)
        return conn if conn is not None and not conn.ws.closed else None

    def views(self, waiting: dict[str, int]) -> list[SiteView]:
        out = []
        for name, state in sorted(self.states.items()):
            info, load = state.info, state.info.get("load") or {}
            out.append(SiteView(
                name=name, online=self.connection(name) is not None,
                job_types={t.get("name", ""): t.get("etag", "") for t in info.get("job_types") or []},
                tags={t.get("id", ""): t.get("name", "") for t in info.get("tags") or []},
                awake_workers=int(load.get("awake_workers") or 0), idle_workers=int(load.get("idle_workers") or 0),
                queued_tasks=int(load.get("queued_tasks") or 0), waiting_at_hub=waiting.get(name, 0),
                storage=_storage(info.get("storage"))))
        return out

    def describe(self, name: str) -> str:
        """How the site is, in words: online, or offline since when."""
        if self.connection(name) is not None:
            return f"site {name} is online"
        state = self.states.get(name)
        if state is None:
            return f"site {name} is no longer joined to this hub"
        if state.last_heard is None:
            return f"site {name} has not connected to the hub yet"
        return f"site {name} is offline (last heard from at {to_rfc3339(state.last_heard)})"

    def summary(self, name: str, waiting: int) -> dict[str, Any]:
        state = self.states[name]
        conn = self.connection(name)
        info = state.info
        return {"name": name, "online": conn is not None,
                "connected_since": to_rfc3339(conn.since) if conn is not None else None,
                "last_heard": to_rfc3339(state.last_heard), "state": self.describe(name),
                "load": info.get("load") or {}, "workers": len(info.get("workers") or []),
                "job_types": sorted(t.get("name", "") for t in info.get("job_types") or []),
                "waiting_at_hub": waiting}

    def _now(self) -> dt.datetime:
        return self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)


def _storage(roots: Any) -> tuple[tuple[str, tuple[str, ...]], ...] | None:
    """The roots a site said it reaches, as routing takes them; None when it never said."""
    if not isinstance(roots, list):
        return None
    return tuple((str(r.get("path") or ""), tuple(str(p) for p in r.get("platforms") or [] if isinstance(p, str)))
                 for r in roots if isinstance(r, dict) and isinstance(r.get("path"), str) and r.get("path"))
