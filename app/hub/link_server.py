"""The hub's end of a site's link: `GET /api/v3/tablao/hub/link`, a websocket a site opens out.

The site's name and join token are checked before the upgrade (401/403 in words, nothing else
said). Then: the site's `hello` (what it offers) within 30 s, the hub's `welcome` with how far it
has the site's jobs, every message still waiting for the site, and from then on the site's
reports and answers (task changes and followed logs go to `task_feed.py`). A second connection of the same site replaces the first (a site that
reconnected before the hub noticed the old one drop). Every message read counts as the site
being heard from.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from app.api.errors import BadRequest
from app.hub.job_book import JobBook
from app.hub.outbox import Outbox
from app.hub.sites import SiteBook, SiteConnection
from app.hub.task_feed import TaskFeed
from app.manager.hub_link import protocol as p

_log = logging.getLogger(__name__)

HELLO_WAIT = 30.0
HEARTBEAT = 15.0
_OFFER_KEYS = ("job_types", "tags", "storage", "workers", "load")


def bearer(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").strip().partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def serve_link(request: web.Request, sites: SiteBook, outbox: Outbox, jobs: JobBook,
                     feed: TaskFeed) -> web.WebSocketResponse:
    name = request.headers.get(p.SITE_HEADER, "").strip()
    await sites.authenticate(name, bearer(request))
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=p.MAX_MESSAGE)
    if not ws.can_prepare(request).ok:
        raise BadRequest("this is the hub's link for sites, a websocket; a site's Manager opens it itself "
                         "when its flamenco-manager.yaml has hub_url, hub_site and hub_token")
    await ws.prepare(request)
    try:
        hello = await ws.receive_json(timeout=HELLO_WAIT)
    except (TimeoutError, ValueError, TypeError):
        await ws.close(message=b"expected a hello")
        return ws
    if not isinstance(hello, dict) or hello.get("type") != p.HELLO:
        await ws.close(message=b"expected a hello")
        return ws
    conn = SiteConnection(name, ws, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    async with conn.lock:  # the welcome goes first: a follow sent meanwhile waits for it
        old = await sites.connected(conn, _offer(hello))
        try:
            cursor = await jobs.cursor(name)
            await ws.send_json({"type": p.WELCOME, "cursor": cursor, "follows": feed.follows_of(name)})
        except BaseException:
            sites.disconnected(conn)
            raise
    if old is not None:
        await old.ws.close(message=b"replaced by a newer connection of this site")
    _log.info("site %s connected from %s", name, request.remote)
    try:
        await outbox.deliver_pending(name)
        await jobs.route_waiting()  # this site may reach files no site reached before
        await feed.site_connected(name)
        async for msg in ws:
            if msg.type != WSMsgType.TEXT:
                continue
            await sites.heard(name)
            try:
                data = json.loads(msg.data)
            except ValueError:
                continue
            if isinstance(data, dict):
                await _handle(name, data, sites, outbox, jobs, feed)
    finally:
        sites.disconnected(conn)
        _log.info("site %s disconnected", name)
    return ws


async def _handle(name: str, data: dict[str, Any], sites: SiteBook, outbox: Outbox, jobs: JobBook,
                  feed: TaskFeed) -> None:
    kind = data.get("type")
    if kind == p.JOBS:
        await jobs.site_jobs(name, data)
    elif kind == p.INVENTORY:
        await jobs.site_inventory(name, data)
    elif kind == p.ACK:
        await outbox.acked(name, data)
    elif kind == p.REPLY:
        jobs.site_reply(data)
    elif kind == p.STATUS:
        await sites.heard(name, _offer(data))
    elif kind == p.FRAME:
        jobs.frame_changed(name, data)
    elif kind == p.TASKS:
        await feed.site_tasks(name, data)
    elif kind == p.LOG:
        feed.site_log(name, data)


def _offer(data: dict[str, Any]) -> dict[str, Any]:
    """What a site says it offers, each part only when it has the right shape."""
    out: dict[str, Any] = {}
    for key in _OFFER_KEYS:
        value = data.get(key)
        if key == "load" and isinstance(value, dict):
            out[key] = {k: v for k, v in value.items() if isinstance(v, int)}
        elif key != "load" and isinstance(value, list):
            out[key] = [item for item in value if isinstance(item, dict)]
    return out
