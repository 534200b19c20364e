"""Checkout requirements: which of a client's files the store still needs.

This is the first call of every Shaman submission, so it is cheap by design: one stat (and, for
files already stored, one utime) per distinct file, done in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging

from app.shaman.specs import FileKey, FileSpec, FileStatus
from app.shaman.store import FileStore

_log = logging.getLogger(__name__)


async def missing_files(store: FileStore, files: list[FileSpec]) -> list[tuple[FileSpec, FileStatus]]:
    """Return the files that are unknown or still uploading, each sha+size once, in request order.

    Stored files are touched, because the client is about to reference them in a checkout and the
    garbage collector must not remove them in between.
    """
    # The set of in-progress uploads lives on the event loop; the thread gets a frozen copy.
    uploading = store.uploading_keys()
    result = await asyncio.to_thread(_missing_sync, store, files, uploading)
    _log.debug("requirements: %d files asked, %d missing", len(files), len(result))
    return result


def _missing_sync(
    store: FileStore, files: list[FileSpec], uploading: frozenset[FileKey]
) -> list[tuple[FileSpec, FileStatus]]:
    seen: set[FileKey] = set()
    result: list[tuple[FileSpec, FileStatus]] = []
    for spec in files:
        key = spec.key
        if key in seen:
            continue
        seen.add(key)
        if store.touch(key):  # touch doubles as the "is it stored" check: one syscall, not two
            continue
        status = FileStatus.UPLOADING if key in uploading else FileStatus.UNKNOWN
        result.append((spec, status))
    return result
