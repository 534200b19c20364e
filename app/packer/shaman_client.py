"""The Shaman operations from the client side (the wire part of a Shaman submission).

Thin: one method per operation, turning status codes into results or `ShamanClientError`.
The upload streams the file from disk in large chunks, read in a thread, with a byte callback.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from email.header import Header
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

import aiohttp

from app.packer.layout import PackError

_log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20
LINK_MODE_HEADER = "X-Tablao-Link-Mode"


class UploadResult(StrEnum):
    STORED = "stored"  # 204 (or a bare 200 from a Flamenco Manager)
    ALREADY_STORED = "already-stored"  # 208
    DEFERRED = "deferred"  # 425: someone else is uploading it; try again in a later round


class ShamanClientError(PackError):
    """The Manager refused a Shaman request; `status` is the HTTP status (0: no answer at all)."""

    def __init__(self, message: str, status: int = 0):
        super().__init__(message)
        self.status = status


class ShamanClient:
    """Shaman API calls against one Manager, on a caller-owned aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str):
        self._session = session
        self._base = base_url.rstrip("/") + "/api/v3/shaman"

    async def requirements(self, files: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The subset of `files` the Manager lacks, each with `status` unknown or uploading."""
        async with self._session.post(f"{self._base}/checkout/requirements", json={"files": files}) as resp:
            doc = await _json_or_raise(resp, "checking which files the Manager has")
        return list(doc.get("files", []))

    async def checkout(self, files: list[dict[str, Any]], checkout_path: str) -> tuple[str, str]:
        """Request a checkout; returns (actual checkout path, link mode or "" from a Flamenco Manager)."""
        body = {"files": files, "checkoutPath": checkout_path}
        async with self._session.post(f"{self._base}/checkout/create", json=body) as resp:
            doc = await _json_or_raise(resp, "creating the checkout")
            return str(doc["checkoutPath"]), resp.headers.get(LINK_MODE_HEADER, "")

    async def upload(
        self, path: Path, sha: str, size: int, *, can_defer: bool, name: str, on_bytes: Callable[[int], None]
    ) -> UploadResult:
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(size),  # a known length, not chunked: the server can check it up front
            "X-Shaman-Can-Defer-Upload": "true" if can_defer else "false",
            "X-Shaman-Original-Filename": encode_filename(name),
        }
        url = f"{self._base}/files/{sha}/{size}"
        async with self._session.post(url, data=_file_chunks(path, size, on_bytes), headers=headers) as resp:
            if resp.status in (200, 204):
                return UploadResult.STORED
            if resp.status == 208:
                return UploadResult.ALREADY_STORED
            if resp.status == 425:
                return UploadResult.DEFERRED
            raise ShamanClientError(f"uploading {name}: {await _message(resp)}", resp.status)


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


async def _json_or_raise(resp: aiohttp.ClientResponse, doing: str) -> dict[str, Any]:
    if resp.status != 200:
        raise ShamanClientError(f"{doing}: {await _message(resp)}", resp.status)
    doc = await resp.json(content_type=None)
    if not isinstance(doc, dict):
        raise ShamanClientError(f"{doing}: the Manager sent {type(doc).__name__}, not an object", resp.status)
    return doc


async def _message(resp: aiohttp.ClientResponse) -> str:
    """The `message` of an `{code, message}` error body, or the status line."""
    try:
        doc = await resp.json(content_type=None)
        if isinstance(doc, dict) and doc.get("message"):
            return f"{doc['message']} (HTTP {resp.status})"
    except (ValueError, aiohttp.ClientError):
        pass
    return f"HTTP {resp.status} {resp.reason or ''}".strip()
