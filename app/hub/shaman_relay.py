"""The hub's Shaman: artists upload a job's files to the hub once, and each site fetches from it
only the files its own Shaman lacks.

`HubShaman` is the Manager's Shaman that also keeps each checkout's file list in the hub's store
(`hub_checkouts`): a job naming a checkout is forwarded with that list, and its site asks its own
Shaman which files are missing, fetches just those (`GET /api/v3/tablao/hub/blobs/{checksum}/
{filesize}`, with its name and join token) and builds the same checkout locally. The blob route
serves only files the hub stores, by content hash: a site learns nothing a checkout did not name.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Any

from aiohttp import web

from app.api.errors import NotFound
from app.api.meta import SharedStorageLocation
from app.manager.persistence import hub_records as records
from app.manager.persistence.db import Store
from app.manager.settings.config import ManagerConfig
from app.shaman.checkout import CheckoutResult
from app.shaman.config import LinkMode, ShamanConfig
from app.shaman.service import Shaman
from app.shaman.specs import FileKey, FileSpec, parse_checksum, parse_size
from app.shaman.store import UploadOutcome

_log = logging.getLogger(__name__)

BLOBS_PATH = "/api/v3/tablao/hub/blobs/{checksum}/{filesize}"


class HubShaman(Shaman):
    """The Shaman, remembering each checkout's files for the sites, and counting what travels since the
    hub started: `bytes_received` from artists (uploads), `sent` to each site (files, bytes)."""

    hub_store: Store
    blobs_served = 0
    bytes_received = 0
    sent: dict[str, list[int]]

    async def store_file(
        self, key: FileKey, body: AsyncIterable[bytes], *, can_defer: bool = False, label: str = ""
    ) -> UploadOutcome:
        async def counted() -> AsyncIterator[bytes]:
            async for chunk in body:
                self.bytes_received += len(chunk)
                yield chunk
        return await super().store_file(key, counted(), can_defer=can_defer, label=label)

    def count_sent(self, site: str, size: int) -> None:
        self.blobs_served += 1
        files_bytes = self.sent.setdefault(site, [0, 0])
        files_bytes[0] += 1
        files_bytes[1] += size

    def files_sent(self, site: str) -> dict[str, int]:
        files, size = self.sent.get(site, (0, 0))
        return {"files": files, "bytes": size}

    async def checkout(self, files: list[FileSpec], checkout_path: str) -> CheckoutResult:
        result = await super().checkout(files, checkout_path)
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        await self.hub_store.call(records.record_checkout, result.checkout_path, [f.to_json() for f in files], now)
        return result


def hub_shaman(config: ManagerConfig, store: Store) -> HubShaman | None:
    """The hub's Shaman when HUB.yaml enables it (`shaman.enabled` and `shared_storage_path`)."""
    if not (config.shaman_enabled and config.shared_storage_path):
        return None
    shaman = HubShaman(ShamanConfig(shared_storage=Path(config.shared_storage_path), enabled=True,
                                    gc_period=config.shaman_gc_period, gc_max_age=config.shaman_gc_max_age,
                                    link_mode=LinkMode(config.shaman_link_mode),
                                    stale_upload_age=config.shaman_stale_upload_age))
    shaman.hub_store = store
    shaman.sent = {}
    return shaman


def shared_storage_answer(config: ManagerConfig, shaman: Shaman | None, audience: str, platform: str) -> dict[str, Any]:
    """What the add-on and `tablao submit` ask first: the hub's storage, and that it takes uploads."""
    return SharedStorageLocation(location=config.shared_storage_path, audience=audience, platform=platform,
                                 shaman_enabled=shaman is not None).to_json()


async def serve_blob(request: web.Request, shaman: Shaman | None, site: str = "") -> web.StreamResponse:
    if shaman is None:
        raise NotFound("this hub has no Shaman (shaman.enabled and shared_storage_path in its HUB.yaml)")
    key = FileKey(parse_checksum(request.match_info["checksum"]), parse_size(request.match_info["filesize"]))
    if not shaman.store.is_stored(key):
        raise NotFound(f"the hub stores no file {key.sha[:12]}…/{key.size}")
    if isinstance(shaman, HubShaman):
        shaman.count_sent(site, key.size)
    return web.FileResponse(shaman.store.blob_path(key), headers={"Content-Type": "application/octet-stream"})


async def checkout_for_site(shaman: Shaman | None, store: Store, checkout: str) -> dict[str, Any]:
    """The `checkout` part of a forwarded submission; BadRequest in words when there is none."""
    from app.api.errors import BadRequest

    if shaman is None:
        raise BadRequest("`storage.shaman_checkout_id` is set, but this hub has no Shaman")
    files = await store.call(records.checkout_files, checkout)
    if files is None or not await shaman.has_checkout(checkout):
        raise BadRequest(f"`storage.shaman_checkout_id` {checkout[:200]!r} is not a checkout made by this hub's "
                         "Shaman; create one with /api/v3/shaman/checkout/create")
    return {"path": checkout, "files": files}


def files_of(hub: Any, name: str, summary: dict[str, Any]) -> dict[str, Any]:
    """A site's line of the hub's site list, with the files the hub sent it (`files_sent`: files, bytes)
    when the hub has a Shaman."""
    if isinstance(hub.shaman, HubShaman):
        summary["files_sent"] = hub.shaman.files_sent(name)
    return summary


def received_by(hub: Any) -> dict[str, Any]:
    """The bytes artists uploaded to the hub's Shaman since it started (absent without a Shaman)."""
    return {"files_received_bytes": hub.shaman.bytes_received} if isinstance(hub.shaman, HubShaman) else {}
