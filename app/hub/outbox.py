"""`Outbox`: what the hub sends to its sites, kept in the store until each site confirms it.

A submission or an action is written to `hub_outbox` before anyone is told it was accepted, then
sent at once when its site is connected; a site that connects gets all its unconfirmed messages
again, in the order they were made. The site applies each id once and answers with an `ack`; the
first ack for an id marks it done, a repeated one changes nothing; an answer saying the site could
not apply it now (a 5xx: say a file could not be fetched) leaves it waiting and sends it again. Callers that want the site's
answer wait for it a while (`wait`), and learn "not yet" when the site is away or slow.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid as uuidlib
from collections.abc import Awaitable, Callable
from typing import Any

from app.common.clock import Clock
from app.hub.sites import SiteBook
from app.manager.persistence import hub_records as records
from app.manager.persistence.db import Store

_log = logging.getLogger(__name__)

RETRY_AFTER = 10.0  # seconds before a message a site could not apply (its 5xx) is sent again

#: Called with the message and the site's answer when a message is confirmed for the first time.
OnDone = Callable[[records.OutboxMessage, dict[str, Any], bool], Awaitable[None]]


class Outbox:
    def __init__(self, store: Store, clock: Clock, sites: SiteBook):
        self.store, self.clock, self.sites = store, clock, sites
        self._answers: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._delivering: dict[str, asyncio.Lock] = {}
        self.on_done: OnDone | None = None
        self._retries: set[asyncio.Task] = set()

    def new_id(self) -> str:
        return str(uuidlib.uuid4())

    def message(self, kind: str, msg_id: str, job_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        return {"type": kind, "id": msg_id, "job_id": job_id, **payload}

    async def send_now(self, site: str, msg: dict[str, Any]) -> bool:
        """Send a message already stored, when the site is connected; False when it is not."""
        conn = self.sites.connection(site)
        if conn is None:
            return False
        async with self._lock(site):
            return await conn.send(msg)

    async def deliver_pending(self, site: str) -> int:
        """Send every unconfirmed message of `site`, oldest first (on each connection)."""
        conn = self.sites.connection(site)
        if conn is None:
            return 0
        async with self._lock(site):
            pending = await self.store.call(records.pending_messages, site)
            for rec in pending:
                if not await conn.send(self.message(rec.kind, rec.msg_id, rec.job_id, rec.payload)):
                    break
        if pending:
            _log.info("sent %d waiting messages to site %s", len(pending), site)
        return len(pending)

    def expect(self, msg_id: str) -> asyncio.Future[dict[str, Any]]:
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._answers[msg_id] = fut
        return fut

    async def wait(self, msg_id: str, fut: asyncio.Future[dict[str, Any]], timeout: float) -> dict[str, Any] | None:
        """The site's answer to `msg_id`, or None when it has not come within `timeout` seconds."""
        try:
            return await asyncio.wait_for(asyncio.shield(fut), timeout)
        except TimeoutError:
            return None
        finally:
            self._answers.pop(msg_id, None)

    async def acked(self, site: str, data: dict[str, Any]) -> None:
        """A site's `ack`: the first one for an id marks it done; a 5xx is retried on the next connection."""
        msg_id = data.get("id")
        if not isinstance(msg_id, str) or len(msg_id) > 36:
            return
        result: dict[str, Any] = {key: data.get(key) for key in ("ok", "status", "message", "job") if key in data}
        status = result.get("status")
        if not isinstance(status, int) or status >= 500:
            _log.warning("site %s could not apply message %s now: %s; sending it again in %.0f s", site, msg_id,
                         result.get("message"), RETRY_AFTER)
            self._retry_later(site)
            waiter = self._answers.get(msg_id)
            if waiter is not None and not waiter.done():
                waiter.set_result({**result, "ok": False, "retry": True})
            return
        now = self.clock.now().astimezone(dt.UTC).replace(tzinfo=None)
        first = await self.store.call(records.mark_done, msg_id, site, result, now)
        rec = await self.store.call(records.message, msg_id) if first else None
        waiter = self._answers.get(msg_id)
        if rec is not None and self.on_done is not None:
            await self.on_done(rec, result, waiter is not None)
        if waiter is not None and not waiter.done():
            waiter.set_result(result)
        if not first:
            _log.debug("repeated ack for %s from site %s ignored", msg_id, site)

    def _retry_later(self, site: str) -> None:
        async def again() -> None:
            await asyncio.sleep(RETRY_AFTER)
            await self.deliver_pending(site)
        task = asyncio.create_task(again())
        self._retries.add(task)
        task.add_done_callback(self._retries.discard)

    def _lock(self, site: str) -> asyncio.Lock:
        return self._delivering.setdefault(site, asyncio.Lock())

