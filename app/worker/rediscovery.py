"""A lost Manager is looked for again: UPnP/SSDP, the same Manager at whatever address it has now.

`ManagerFinder.run()` watches the worker's client. Once the Manager has not answered for
`lost_after_s`, it searches the network (as Flamenco's worker does at start) for a Manager with the
same name in `/version` that proves it is this worker's own Manager (`app.worker.manager_check`:
a name is easily copied, so a candidate gets no credentials before it proves itself), and points
the client there, remembering the new address with the credentials. Nothing else changes: the
state machine's retries and the upstream buffer's flusher simply reach the Manager at its new
address, and the queued task updates are delivered in order. While the Manager answers, the finder
only looks at a timestamp every few seconds; while it stays lost, the searches space out (doubling
up to `MAX_SEARCH_GAP_S`) so a long outage does not flood the LAN with multicast.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path

from app.common import discovery
from app.worker.client import WorkerClient
from app.worker.config import Credentials, save_credentials
from app.worker.manager_check import recognised

_log = logging.getLogger(__name__)

MAX_SEARCH_GAP_S = 120.0


def next_gap(gap_s: float) -> float:
    """The wait before the next search after one that found nothing."""
    return min(gap_s * 2, MAX_SEARCH_GAP_S)


async def find_own_manager(name: str | None, credentials: Credentials | None, timeout_s: float = 3.0,
                           targets: list[tuple[str, int]] | None = None) -> str | None:
    """The base URL where this worker's Manager answers now, proven; None when it was not found.

    A worker that has not registered yet (no credentials) has nothing to give away: the name has
    to do, as at its first start. One with credentials but no key of its Manager follows nobody.
    """
    return await discovery.find_again(name, lambda url: recognised(url, credentials), timeout_s, targets)


def remember_address(path: Path | None, credentials: Credentials | None, url: str) -> Credentials | None:
    """The credentials with `url` as their Manager's address, saved when `path` is given."""
    if credentials is None or credentials.manager_url == url:
        return credentials
    moved = dataclasses.replace(credentials, manager_url=url)
    if path is not None:
        try:
            save_credentials(path, moved)
        except OSError as exc:
            _log.warning("cannot remember the manager's new address in %s: %s", path, exc)
    return moved


class ManagerFinder:
    def __init__(self, client: WorkerClient, *, lost_after_s: float = 20.0, check_every_s: float = 2.0,
                 search_s: float = 3.0, targets: list[tuple[str, int]] | None = None,
                 on_moved: Callable[[str], None] | None = None, credentials_path: Path | None = None):
        self.client = client
        self.lost_after_s = lost_after_s
        self.check_every_s = check_every_s
        self.search_s = search_s
        self.targets = targets
        self.on_moved = on_moved
        self.credentials_path = credentials_path
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
            if (now - lost_since >= self.lost_after_s and now >= next_search
                    and await self.look_again() is None):
                next_search, gap = time.monotonic() + gap, next_gap(gap)

    async def look_again(self) -> str | None:
        """Search once; move the client when its Manager proves itself somewhere. Returns the new URL."""
        self.searches += 1
        _log.info("the manager at %s has not answered for a while; looking for it on the network",
                  self.client.base_url)
        url = await find_own_manager(self.name, self.client.credentials, self.search_s, self.targets)
        if url is None or url == self.client.base_url:
            return None
        _log.info("the manager moved from %s to %s; sending everything there", self.client.base_url, url)
        self.client.credentials = remember_address(self.credentials_path, self.client.credentials, url)
        self.client.move_to(url)
        if self.on_moved is not None:
            self.on_moved(url)
        return url
