"""The `Shaman` facade: one object tying store, checkouts and garbage collection together.

The Manager creates it from a `ShamanConfig` (or keeps None when Shaman is disabled), hands
`lambda: shaman` to `add_shaman_routes`, and runs `shaman.run()` in its service TaskGroup for the
periodic garbage collection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Callable

from app.common.loops import run_periodic
from app.shaman.checkout import CheckoutManager, CheckoutResult
from app.shaman.config import ShamanConfig
from app.shaman.gc import GarbageCollector, GCReport
from app.shaman.requirements import missing_files
from app.shaman.specs import FileKey, FileSpec, FileStatus
from app.shaman.store import FileStore, UploadOutcome

_log = logging.getLogger(__name__)


class Shaman:
    """File store, checkouts and GC under one shared storage.

    Construction creates the directories and sweeps abandoned uploads (blocking, so call it at
    startup or through `Shaman.open`). Everything else is async and keeps file IO off the loop.
    """

    def __init__(self, config: ShamanConfig, *, clock: Callable[[], float] = time.time):
        self.config = config
        self._clock = clock
        self.store = FileStore(config.file_store_path)
        self.checkouts = CheckoutManager(self.store, config.checkout_root_path, config.link_mode)
        self.gc = GarbageCollector(
            self.store,
            self.checkouts.root,
            config.gc_max_age,
            stale_upload_age=config.stale_upload_age,
            clock=clock,
        )
        # Uploads live in memory, so temp files from before a restart can never finish.
        self.store.sweep_stale_uploads(config.stale_upload_age, clock())

    @classmethod
    async def open(cls, config: ShamanConfig, *, clock: Callable[[], float] = time.time) -> Shaman:
        """Construct off the event loop (directory creation and the startup sweep block)."""
        return await asyncio.to_thread(cls, config, clock=clock)

    async def requirements(self, files: list[FileSpec]) -> list[tuple[FileSpec, FileStatus]]:
        return await missing_files(self.store, files)

    async def file_status(self, key: FileKey) -> FileStatus:
        uploading = self.store.uploading_keys()
        return await asyncio.to_thread(self.store.status, key, uploading)

    async def store_file(
        self, key: FileKey, body: AsyncIterable[bytes], *, can_defer: bool = False, label: str = ""
    ) -> UploadOutcome:
        return await self.store.receive(key, body, can_defer=can_defer, label=label)

    async def checkout(self, files: list[FileSpec], checkout_path: str) -> CheckoutResult:
        return await self.checkouts.create(files, checkout_path)

    async def erase_checkout(self, checkout_path: str) -> bool:
        return await self.checkouts.erase(checkout_path)

    async def collect_garbage(self, dry_run: bool = False) -> GCReport:
        return await asyncio.to_thread(self.gc.collect, dry_run)

    async def run(self) -> None:
        """Run garbage collection every `gc_period` seconds until cancelled; a failed sweep is
        logged and tried again next period, it never stops the Manager."""
        await run_periodic("shaman garbage collection", lambda: self.config.gc_period, self.collect_garbage,
                           first_delay=self.config.gc_first_delay)
