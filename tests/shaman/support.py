"""Helpers shared by the Shaman tests."""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import time
from collections.abc import Callable
from pathlib import Path

from aiohttp.test_utils import TestClient

from app.shaman import Shaman
from app.shaman.specs import FileKey


def key_of(data: bytes) -> FileKey:
    return FileKey(hashlib.sha256(data).hexdigest(), len(data))


def file_url(key: FileKey) -> str:
    return f"/api/v3/shaman/files/{key.sha}/{key.size}"


def make_old(path: Path, age: float) -> None:
    then = time.time() - age
    os.utime(path, (then, then))


def temp_files(shaman: Shaman) -> list[Path]:
    return [p for p in shaman.store.uploading_dir.rglob("*") if p.is_file()]


def stored_blobs(shaman: Shaman) -> list[Path]:
    return sorted(shaman.store.stored_dir.rglob("*.blob"))


async def upload(
    client: TestClient, data: bytes, key: FileKey | None = None, headers: dict[str, str] | None = None
) -> int:
    key = key or key_of(data)
    resp = await client.post(file_url(key), data=io.BytesIO(data), headers=headers or {})
    await resp.read()
    return resp.status


async def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Poll until predicate() is true; fail the test after `timeout` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.01)
