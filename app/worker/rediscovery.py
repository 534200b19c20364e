"""A lost Manager is looked for again: UPnP/SSDP, the same Manager at whatever address it has now.

`ManagerFinder.run()` watches the worker's client. Once the Manager has not answered for
`lost_after_s`, it searches the network (as Flamenco's worker does at start) for a Manager with the
same name in `/version` that accepts this worker's credentials (so the same database), and points
the client there. Nothing else changes: the state machine's retries and the upstream buffer's
flusher simply reach the Manager at its new address, and the queued task updates are delivered in
order. While the Manager answers, the finder only looks at a timestamp every few seconds; while it
stays lost, the searches space out (doubling up to `MAX_SEARCH_GAP_S`) so a long outage does not
flood the LAN with multicast.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from app.api.transport import API_PREFIX, Transport, basic_auth
from app.common import discovery
from app.worker.client import WorkerClient

_log = logging.getLogger(__name__)

MAX_SEARCH_GAP_S = 120.0


def next_gap(gap_s: float) -> float:
    """The wait before the next search after one that found nothing."""
    return min(gap_s * 2, MAX_SEARCH_GAP_S)


class ManagerFinder:
    def __init__(self, client: WorkerClient, *, lost_after_s: float = 20.0, check_every_s: float = 2.0,
                 search_s: float = 3.0, targets: list[tuple[str, int]] | None = None,
                 on_moved: Callable[[str], None] | None = None):
        self.client = client
        self.lost_after_s = lost_after_s
        self.check_every_s = check_every_s
        self.search_s = search_s
        self.targets = targets
        self.on_moved = on_moved
        self.name: str | None = None   # the Manager's name, learnt while it answers
        self.searches = 0

    async def run(self) -> None:
        gap, next_search = self.lost_after_s, 0.0
        while True:
            await asyncio.sleep(self.check_every_s)
            lost_since = self.client.unreachable_since
            if lost_since is None:
                gap, next_search = self.lost_after_s, 0.0
                if self.name is None:
                    self.name = await discovery.manager_name(self.client.base_url)
                continue
            now = time.monotonic()
            if now - lost_since >= self.lost_after_s and now >= next_search:
                if await self.look_again() is None:
                    next_search, gap = time.monotonic() + gap, next_gap(gap)

    async def look_again(self) -> str | None:
        """Search once; move the client when the same Manager answers somewhere. Returns the new URL."""
        self.searches += 1
        _log.info("the manager at %s has not answered for a while; looking for it on the network",
                  self.client.base_url)
        url = await discovery.find_again(self.name, self.accepts, self.search_s, self.targets)
        if url is None or url == self.client.base_url:
            return None
        _log.info("the manager moved from %s to %s; sending everything there", self.client.base_url, url)
        self.client.move_to(url)
        if self.on_moved is not None:
            self.on_moved(url)
        return url

    async def accepts(self, url: str) -> bool:
        return await credentials_accepted(url, self.client.credentials)


async def credentials_accepted(url: str, credentials) -> bool:
    """True when the Manager at `url` knows these worker credentials (GET /worker/state, no wait)."""
    if credentials is None:
        return True  # nothing to prove yet: the name has to do
    async with Transport(url, timeout_s=5.0) as transport:
        try:
            reply = await transport.send("GET", f"{API_PREFIX}/worker/state", headers={
                "Authorization": basic_auth(credentials.worker_id, credentials.worker_secret)})
        except Exception as exc:  # noqa: BLE001 - not reachable: not our Manager
            _log.debug("%s: %s", url, exc)
            return False
    return reply.status in (200, 204)
