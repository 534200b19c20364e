"""Uploading the last-rendered image of a task to the Manager's preview.

Owns a last-in-one-out slot: only the newest image waits for upload, older ones are dropped
(the preview shows "the latest frame", not every frame). Images are re-encoded to JPEG
(quality 85, fitted in 1920x1080) in a thread to keep uploads small. Failures are logged and
never affect the task.
"""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path
from typing import Protocol

from PIL import Image, UnidentifiedImageError

from app.worker.client import ManagerRejected, ManagerUnreachable

_log = logging.getLogger(__name__)

#: Formats Blender writes that Pillow can read; EXR and others are skipped.
ACCEPTED_FORMATS = frozenset({"PNG", "JPEG", "TIFF"})
MAX_SIZE = (1920, 1080)
JPEG_QUALITY = 85


class OutputPoster(Protocol):
    async def output_produced(self, task_id: str, image: bytes, content_type: str = "image/jpeg") -> int: ...


def encode_preview(
    path: Path, max_size: tuple[int, int] = MAX_SIZE, quality: int = JPEG_QUALITY
) -> bytes | None:
    """JPEG bytes for the image at `path`, or None when it is not a PNG/JPEG/TIFF image."""
    if path.suffix.lower() == ".exr":
        return None
    try:
        with Image.open(path) as img:
            if img.format not in ACCEPTED_FORMATS:
                _log.debug("not uploading %s: format %s", path, img.format)
                return None
            img.load()
            rgb = _to_rgb(img)
    except (UnidentifiedImageError, OSError) as exc:
        _log.debug("not uploading %s: %s", path, exc)
        return None
    rgb.thumbnail(max_size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    rgb.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16/32-bit grayscale: scale to 8 bits first, a plain convert would clip to white.
        return img.point(lambda v: v / 256).convert("L").convert("RGB")
    return img.convert("RGB")


class OutputUploader:
    """Background uploader of last-rendered images. `queue_image` is safe to call any time."""

    def __init__(self, poster: OutputPoster):
        self._poster = poster
        self._slot: tuple[str, Path] | None = None
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.uploaded = 0

    def queue_image(self, task_id: str, path: Path) -> None:
        if self._slot is not None:
            _log.debug("dropping older preview %s in favour of %s", self._slot[1], path)
        self._slot = (task_id, path)
        self._idle.clear()
        self._wake.set()

    async def run(self) -> None:
        """Upload images as they come, until cancelled."""
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._slot is not None:
                task_id, path = self._slot
                self._slot = None
                await self._upload(task_id, path)
            self._idle.set()

    async def wait_idle(self, timeout_s: float) -> bool:
        """Wait until nothing is pending (for tests and orderly shutdown)."""
        try:
            async with asyncio.timeout(timeout_s):
                await self._idle.wait()
            return True
        except TimeoutError:
            return False

    async def _upload(self, task_id: str, path: Path) -> None:
        try:
            jpeg = await asyncio.to_thread(encode_preview, path)
        except Exception:  # noqa: BLE001 - a broken image must never hurt the task
            _log.exception("cannot encode preview %s", path)
            return
        if jpeg is None:
            return
        try:
            status = await self._poster.output_produced(task_id, jpeg, "image/jpeg")
        except (ManagerUnreachable, ManagerRejected) as exc:
            _log.warning("uploading preview of task %s failed: %s", task_id, exc)
            return
        if 200 <= status < 300:
            self.uploaded += 1
            _log.debug("uploaded preview %s of task %s (%d bytes)", path.name, task_id, len(jpeg))
        else:
            _log.info("manager did not take preview of task %s: HTTP %d", task_id, status)
