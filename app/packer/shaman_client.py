"""The Shaman operations from the packer's side: files on disk in, `ManagerClient` calls out.

Thin: one method per operation on `app.api.client.ManagerClient` (the one transport under every
client), turning its answers into `UploadResult`s and its refusals into `ShamanClientError`. The
upload streams the file from disk in large chunks, read in a thread, with a byte callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from email.header import Header
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from app.api.client import ManagerClient
from app.api.errors import HttpError
from app.api.meta import ShamanFileSpec, ShamanRequirement
from app.packer.layout import PackError

_log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20


class UploadResult(StrEnum):
    STORED = "stored"  # 204 (or a bare 200 from a Flamenco Manager)
    ALREADY_STORED = "already-stored"  # 208
    DEFERRED = "deferred"  # 425: someone else is uploading it; try again in a later round


_UPLOAD_RESULTS = {200: UploadResult.STORED, 204: UploadResult.STORED, 208: UploadResult.ALREADY_STORED,
                   425: UploadResult.DEFERRED}


class ShamanClientError(HttpError, PackError):
    """The Manager refused a Shaman request; `status` is the HTTP status."""

    def __init__(self, message: str, status: int = 0):
        HttpError.__init__(self, status, message)

    def __str__(self) -> str:
        return self.message


class ShamanClient:
    """Shaman API calls against one Manager, through its `ManagerClient`."""

    def __init__(self, client: ManagerClient):
        self._client = client

    async def requirements(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The subset of `files` the Manager lacks, each with `status` unknown or uploading."""
        specs = [ShamanRequirement.from_json(f) for f in files]
        missing = await _refused("checking which files the Manager has", self._client.shaman_requirements(specs))
        return [m.to_json() for m in missing]

    async def checkout(self, files: list[dict[str, Any]], checkout_path: str) -> tuple[str, str]:
        """Request a checkout; returns (actual checkout path, link mode or "" from a Flamenco Manager)."""
        specs = [ShamanFileSpec.from_json(f) for f in files]
        result = await _refused("creating the checkout", self._client.shaman_checkout(specs, checkout_path))
        return result.checkout_path, result.link_mode

    async def upload(
        self, path: Path, sha: str, size: int, *, can_defer: bool, name: str, on_bytes: Callable[[int], None]
    ) -> UploadResult:
        status = await _refused(f"uploading {name}", self._client.shaman_upload(
            sha, size, _file_chunks(path, size, on_bytes), can_defer=can_defer, filename=encode_filename(name)))
        return _UPLOAD_RESULTS[status]


async def _refused(doing: str, call: Any) -> Any:
    try:
        return await call
    except HttpError as exc:
        raise ShamanClientError(f"{doing}: {exc.message} (HTTP {exc.status})", exc.status) from exc


def encode_filename(name: str) -> str:
    """ASCII as is, otherwise RFC 2047 UTF-8 encoded-words on one line (headers cannot fold)."""
    return name if name.isascii() else Header(name, "utf-8").encode(linesep=" ")


async def _file_chunks(path: Path, size: int, on_bytes: Callable[[int], None]) -> AsyncIterator[bytes]:
    fh: BinaryIO = await asyncio.to_thread(open, path, "rb")
    try:
        remaining = size
        while remaining > 0:
            chunk = await asyncio.to_thread(fh.read, min(CHUNK_SIZE, remaining))
            if not chunk:
                raise ShamanClientError(f"{path} became shorter while uploading it")
            remaining -= len(chunk)
            on_bytes(len(chunk))
            yield chunk
    finally:
        fh.close()
