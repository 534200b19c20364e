"""The content-addressed file store: blobs keyed by SHA-256 and size, and streaming uploads into it.

Layout under the store root (Flamenco's, so an existing store can be reused):

    stored/<sha[0:2]>/<sha[2:]>/<size>.blob          complete, verified files
    uploading/<sha[0:2]>/<sha[2:]>/<size>-<rand>.tmp   uploads in progress

An upload is written to its own temp file while being hashed, verified, fsynced and then renamed
into `stored/`, so a blob path either does not exist or holds the full, verified content. Uploads of
the same file are tracked in memory per file key: a client that can defer is told to come back later,
and an upload that is overtaken by another one that finished first stops and answers "already stored".
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import secrets
import time
from collections.abc import AsyncIterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

from app.shaman.errors import UploadMismatch
from app.shaman.specs import FileKey, FileStatus

_log = logging.getLogger(__name__)

# Writes are batched to about this size so each executor hop carries real work (a hop per 64 KiB
# network chunk costs more than hashing it).
_FLUSH_SIZE = 1 << 20


class UploadOutcome(StrEnum):
    STORED = "stored"  # this upload put the file into the store
    ALREADY_STORED = "already-stored"  # it was there already, or another upload finished first
    DEFERRED = "deferred"  # another upload is running and the client said it can come back later


@dataclass(slots=True)
class _UploadSlot:
    """In-progress uploads of one file key in this process."""

    active: int = 0
    stored: asyncio.Event = field(default_factory=asyncio.Event)
    finalize_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class FileStore:
    """Stored blobs plus the bookkeeping of uploads in progress. Use from one event loop."""

    def __init__(self, root: Path):
        root.mkdir(parents=True, exist_ok=True)
        # Resolved once so checkout symlinks and GC comparisons use one spelling of every path.
        self.root = root.resolve()
        self.stored_dir = self.root / "stored"
        self.uploading_dir = self.root / "uploading"
        self.stored_dir.mkdir(exist_ok=True)
        self._stored_prefix = str(self.stored_dir) + os.sep
        self.uploading_dir.mkdir(exist_ok=True)
        self._uploads: dict[FileKey, _UploadSlot] = {}
        self._active_temps: set[Path] = set()

    # ---- paths and status (blocking; cheap stat calls, callers batch them in a thread) ----

    def blob_path(self, key: FileKey) -> Path:
        return Path(self.blob_str(key))

    def blob_str(self, key: FileKey) -> str:
        """The blob path as a string: checkouts and requirements call this per file, pathlib is slow."""
        return f"{self._stored_prefix}{blob_relpath(key)}"

    def _temp_path(self, key: FileKey) -> Path:
        name = f"{key.size}-{secrets.token_hex(8)}.tmp"
        return self.uploading_dir / key.sha[:2] / key.sha[2:] / name

    def is_stored(self, key: FileKey) -> bool:
        return self.blob_path(key).is_file()

    def uploading_keys(self) -> frozenset[FileKey]:
        """Snapshot of the keys being uploaded right now (safe to hand to a worker thread)."""
        return frozenset(self._uploads)

    def status(self, key: FileKey, uploading: frozenset[FileKey] | None = None) -> FileStatus:
        if self.is_stored(key):
            return FileStatus.STORED
        if key in (self._uploads if uploading is None else uploading):
            return FileStatus.UPLOADING
        return FileStatus.UNKNOWN

    def touch(self, key: FileKey) -> bool:
        """Refresh the blob's mtime (GC age); False when it is not stored."""
        try:
            os.utime(self.blob_str(key))
        except FileNotFoundError:
            return False
        return True

    # ---- uploads ----

    async def receive(
        self, key: FileKey, body: AsyncIterable[bytes], *, can_defer: bool = False, label: str = ""
    ) -> UploadOutcome:
        """Stream `body` into the store as `key`.

        Raises `UploadMismatch` (417) when the body's size or SHA-256 differ from `key`; nothing is
        stored then. On any error or cancellation (client gone) the temp file is removed.
        """
        if await asyncio.to_thread(self.is_stored, key):
            return UploadOutcome.ALREADY_STORED
        slot = self._uploads.get(key)
        if slot is not None and can_defer:
            _log.debug("deferring upload of %s (%s): already uploading", key.sha[:12], label)
            return UploadOutcome.DEFERRED
        if slot is None:
            slot = self._uploads[key] = _UploadSlot()
        slot.active += 1
        try:
            return await self._receive_into_temp(key, body, slot, label)
        finally:
            slot.active -= 1
            if slot.active == 0 and self._uploads.get(key) is slot:
                del self._uploads[key]

    async def _receive_into_temp(
        self, key: FileKey, body: AsyncIterable[bytes], slot: _UploadSlot, label: str
    ) -> UploadOutcome:
        tmp = self._temp_path(key)
        self._active_temps.add(tmp)
        fh: BinaryIO | None = None
        try:
            fh = await asyncio.to_thread(_open_exclusive, tmp)
            hasher = hashlib.sha256()
            received = await self._stream(key, body, slot, fh, hasher)
            if received < 0:
                _log.info("upload of %s (%s) overtaken by another upload", key.sha[:12], label)
                return UploadOutcome.ALREADY_STORED
            _check_match(key, received, hasher.hexdigest())
            await asyncio.to_thread(_sync_and_close, fh)
            async with slot.finalize_lock:
                outcome = await asyncio.to_thread(self._move_into_place, key, tmp)
            slot.stored.set()
            _log.info("stored %s/%d (%s): %s", key.sha[:12], key.size, label, outcome)
            return outcome
        finally:
            # Runs on cancellation too (client disconnected), so it must not await.
            self._active_temps.discard(tmp)
            _discard_temp(fh, tmp)

    async def _stream(
        self, key: FileKey, body: AsyncIterable[bytes], slot: _UploadSlot, fh: BinaryIO, hasher: hashlib._Hash
    ) -> int:
        """Write and hash the body; returns the byte count, or -1 when another upload won the race."""
        received = 0
        buf = bytearray()
        async for chunk in body:
            if slot.stored.is_set():
                return -1
            received += len(chunk)
            if received > key.size:
                raise UploadMismatch(f"body is larger than the announced size of {key.size} bytes")
            buf += chunk
            if len(buf) >= _FLUSH_SIZE:
                # The buffer is not touched again until the thread is done with it.
                await asyncio.to_thread(_hash_and_write, fh, hasher, buf)
                buf.clear()
        if buf:
            await asyncio.to_thread(_hash_and_write, fh, hasher, buf)
        return received

    def _move_into_place(self, key: FileKey, tmp: Path) -> UploadOutcome:
        dest = self.blob_path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            return UploadOutcome.ALREADY_STORED
        # Same filesystem, so this is an atomic rename: readers see no blob or the whole blob.
        os.replace(tmp, dest)
        return UploadOutcome.STORED

    # ---- cleanup ----

    def sweep_stale_uploads(self, max_age: float, now: float | None = None) -> int:
        """Remove `.tmp` files older than `max_age` seconds that no upload of ours is writing."""
        cutoff = (time.time() if now is None else now) - max_age
        removed = 0
        for dirpath, _dirnames, filenames in os.walk(self.uploading_dir, topdown=False):
            for name in filenames:
                path = Path(dirpath, name)
                if path in self._active_temps or not name.endswith(".tmp"):
                    continue
                removed += _unlink_if_older(path, cutoff)
            if dirpath != str(self.uploading_dir):
                _rmdir_if_empty(Path(dirpath))
        if removed:
            _log.info("removed %d abandoned upload(s) from %s", removed, self.uploading_dir)
        return removed


def blob_relpath(key: FileKey) -> str:
    """A blob's path relative to `stored/`, with the local separator."""
    return os.path.join(key.sha[:2], key.sha[2:], f"{key.size}.blob")


def _check_match(key: FileKey, received: int, digest: str) -> None:
    if received != key.size:
        raise UploadMismatch(f"received {received} bytes, announced size was {key.size}")
    if digest != key.sha:
        raise UploadMismatch(f"SHA-256 of the body is {digest}, announced checksum was {key.sha}")


def _open_exclusive(path: Path) -> BinaryIO:
    # Two tries: the stale-upload sweep may remove the empty parent between mkdir and open.
    for attempt in (1, 2):
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            return open(path, "xb")
        except FileNotFoundError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _hash_and_write(fh: BinaryIO, hasher: hashlib._Hash, data: bytearray) -> None:
    hasher.update(data)
    fh.write(data)


def _sync_and_close(fh: BinaryIO) -> None:
    # fsync before the rename: after a power cut the blob must not exist half-written.
    fh.flush()
    os.fsync(fh.fileno())
    fh.close()


def _discard_temp(fh: BinaryIO | None, tmp: Path) -> None:
    if fh is not None and not fh.closed:
        fh.close()
    with contextlib.suppress(FileNotFoundError):  # renamed into place, or never created
        tmp.unlink()


def _unlink_if_older(path: Path, cutoff: float) -> int:
    try:
        if path.stat().st_mtime >= cutoff:
            return 0
        path.unlink()
    except FileNotFoundError:
        return 0
    return 1


def _rmdir_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError as exc:
        if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST, errno.ENOENT):
            _log.debug("could not remove %s: %s", path, exc)
