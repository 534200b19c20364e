"""Last-rendered images: accept worker uploads, make thumbnails, remember the newest.

Workers POST the frame they just rendered (JPEG or PNG, at most 25 MiB) to
`output-produced`. `LastRendered.submit` checks it cheaply and queues it; the
background `run()` turns it into three JPEGs in the job's folder:

- `last-rendered.jpg`, fit in 1920×1080;
- `last-rendered-small.jpg`, fit in 600×338;
- `last-rendered-tiny.jpg`, fit in 200×112.

The queue is small on purpose (3, like Flamenco): a worker that sends frames
faster than the Manager can shrink them gets 429 and drops frames, which is
fine because only the newest frame matters. The job that most recently got
an image is remembered in memory and in `last-rendered.json` in the storage
root, so the "last rendered" view survives a Manager restart.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import json
import logging
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError

from app.api.errors import ApiError
from app.api.jobs import LastRenderedInfo
from app.manager.local_storage import LocalStorage, canonical_uuid

_log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 25 * 1024 * 1024
ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png"})
JPEG_QUALITY = 85
STATE_FILENAME = "last-rendered.json"
# Largest first: each smaller image is made from the previous one, which is cheaper
# than starting from the full frame every time and looks the same at these sizes.
THUMBNAILS: tuple[tuple[str, tuple[int, int]], ...] = (
    ("last-rendered.jpg", (1920, 1080)),
    ("last-rendered-small.jpg", (600, 338)),
    ("last-rendered-tiny.jpg", (200, 112)),
)
SUFFIXES: tuple[str, ...] = tuple(name for name, _ in THUMBNAILS)

# Errors Pillow raises for bytes it cannot decode (SyntaxError is its "bad header").
_DECODE_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)

ProcessedCallback = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class ImageTooLarge(ApiError):
    """413: the upload is bigger than `MAX_IMAGE_BYTES`."""

    status = 413


class UnsupportedImage(ApiError):
    """415: not `image/jpeg` or `image/png`, or the bytes do not decode as one."""

    status = 415


class ImageQueueFull(ApiError):
    """429: the Manager is still busy with earlier images; the worker should skip this one."""

    status = 429


@dataclass(frozen=True, slots=True)
class _Upload:
    job_id: str
    data: bytes


class LastRendered:
    """Thumbnail maker and "which job rendered last" memory.

    `submit` may be called from any handler; `run` must be running (one
    instance) for queued images to be processed.
    """

    def __init__(
        self,
        storage: LocalStorage,
        queue_size: int = 3,
        *,
        on_processed: ProcessedCallback | None = None,
        max_bytes: int = MAX_IMAGE_BYTES,
    ) -> None:
        self.storage = storage
        self.max_bytes = max_bytes
        self.on_processed = on_processed
        self._queue: asyncio.Queue[_Upload] = asyncio.Queue(maxsize=queue_size)
        # A tiny file read at construction (startup), so global_info() can stay synchronous.
        self._global_job: str | None = _load_state(storage.root_file(STATE_FILENAME))

    # Intake -------------------------------------------------------------------

    async def submit(self, job_id: str, data: bytes, mime: str) -> None:
        """Queue an image for processing, or raise 413, 415 or 429 (see the error classes)."""
        job_id = canonical_uuid(job_id, "job id")
        media_type = mime.split(";", 1)[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            raise UnsupportedImage(f"unsupported image type {media_type!r}; send image/jpeg or image/png")
        if len(data) > self.max_bytes:
            raise ImageTooLarge(f"image is {len(data)} bytes, the limit is {self.max_bytes}")
        # Checked before and after the probe: refusing early saves the probe's work,
        # and the queue may have filled up while the probe ran.
        if self._queue.full():
            raise _queue_full()
        await asyncio.to_thread(_probe, data)
        try:
            self._queue.put_nowait(_Upload(job_id, data))
        except asyncio.QueueFull:
            raise _queue_full() from None
        _log.debug("queued last-rendered image for job %s (%d bytes)", job_id, len(data))

    # Processing -----------------------------------------------------------------

    async def run(self) -> None:
        """Process queued images until cancelled."""
        _log.debug("last-rendered processor started")
        while True:
            upload = await self._queue.get()
            try:
                await self._process(upload)
            except Exception:
                _log.exception("could not process last-rendered image of job %s", upload.job_id)
            finally:
                self._queue.task_done()

    async def wait_idle(self) -> None:
        """Wait until every queued image has been processed (for tests and shutdown)."""
        await self._queue.join()

    async def _process(self, upload: _Upload) -> None:
        try:
            images = await asyncio.to_thread(make_thumbnails, upload.data)
        except _DECODE_ERRORS as exc:
            _log.warning("could not decode last-rendered image of job %s: %s", upload.job_id, exc)
            return
        await asyncio.to_thread(self._write_images, upload.job_id, images)
        await self._remember(upload.job_id)
        info = self.info(upload.job_id)
        if info is not None:
            await self._notify(upload.job_id, info)

    def _write_images(self, job_id: str, images: list[tuple[str, bytes]]) -> None:
        job_dir = self.storage.ensure_job_dir(job_id)
        # Smallest first, main image last: info() looks for the main image, so when
        # it exists all three do.
        for name, data in reversed(images):
            _write_atomically(job_dir / name, data)

    async def _remember(self, job_id: str) -> None:
        if self._global_job == job_id:
            return
        self._global_job = job_id
        path = self.storage.root_file(STATE_FILENAME)
        data = json.dumps({"job_id": job_id}).encode()
        try:
            await asyncio.to_thread(_write_atomically, path, data)
        except OSError as exc:
            _log.warning("could not save %s: %s", path, exc)

    async def _notify(self, job_id: str, info: dict[str, Any]) -> None:
        if self.on_processed is None:
            return
        try:
            result = self.on_processed(job_id, info)
            if inspect.isawaitable(result):
                await result
        except Exception:
            _log.exception("last-rendered callback failed for job %s", job_id)

    # Queries ----------------------------------------------------------------------

    def info(self, job_id: str) -> dict[str, Any] | None:
        """`{"base": "/job-files/job-xxxx/<uuid>", "suffixes": [...]}`, or None without an image."""
        # A stat on the loop: microseconds, and it stays right after a job's folder is deleted.
        if not self.storage.job_file(job_id, SUFFIXES[0]).is_file():
            return None
        return LastRenderedInfo(base=self.storage.job_url_base(job_id), suffixes=list(SUFFIXES)).to_json()

    def global_info(self) -> dict[str, Any] | None:
        """`info()` of the job that most recently got an image, or None."""
        if self._global_job is None:
            return None
        return self.info(self._global_job)

    @property
    def global_job_id(self) -> str | None:
        """The job that most recently got an image (its files may have been deleted since)."""
        return self._global_job

    async def forget(self, job_id: str) -> None:
        """Drop the global "last rendered" pointer if it names this (deleted) job."""
        if self._global_job != canonical_uuid(job_id, "job id"):
            return
        self._global_job = None
        path = self.storage.root_file(STATE_FILENAME)
        await asyncio.to_thread(path.unlink, True)


# Image work (runs in a thread) -------------------------------------------------------


def _probe(data: bytes) -> None:
    """Cheap check that `data` is a JPEG or PNG that decodes; raise `UnsupportedImage` otherwise.

    PNG: `verify()` walks every chunk and checks its CRC, which catches junk and
    truncation without decoding pixels. JPEG: a decode at 1/8 scale (the
    decoder skips most of the work) catches the same.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format == "PNG":
                image.verify()
            elif image.format == "JPEG":
                image.draft("L", (max(1, image.width // 8), max(1, image.height // 8)))
                image.load()
            else:
                raise UnsupportedImage(f"{image.format} images are not supported; send JPEG or PNG")
    except _DECODE_ERRORS as exc:
        raise UnsupportedImage(f"the image cannot be decoded: {exc}") from None


def make_thumbnails(data: bytes) -> list[tuple[str, bytes]]:
    """Decode `data` and return `(file name, JPEG bytes)` for each entry of `THUMBNAILS`."""
    with Image.open(io.BytesIO(data)) as image:
        # For JPEG this lets the decoder downscale by a power of two while decoding.
        image.draft("RGB", THUMBNAILS[0][1])
        current = to_rgb(image)
    results = []
    for name, box in THUMBNAILS:
        current = current.copy()
        # Only ever shrinks; thumbnail() pre-reduces by whole factors and then uses
        # Lanczos, which looks the same as pure Lanczos and is much faster on big frames.
        current.thumbnail(box, Image.Resampling.LANCZOS)
        results.append((name, _encode_jpeg(current)))
    return results


def to_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of `image`; transparency is composited over black."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        # 16-bit greyscale: convert("RGB") would clip at 255, so scale down first.
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    # Black, not white: Blender shows transparent film over a dark backdrop.
    backdrop = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
    return Image.alpha_composite(backdrop, rgba).convert("RGB")


def _encode_jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=JPEG_QUALITY)
    return buffer.getvalue()


# Small file helpers ---------------------------------------------------------------------


def _write_atomically(path: Path, data: bytes) -> None:
    """Write to a temporary name, then rename: readers never see a half-written file."""
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)


def _load_state(path: Path) -> str | None:
    try:
        state = json.loads(path.read_text("utf-8"))
        return canonical_uuid(state["job_id"], "job id")
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, ApiError) as exc:
        _log.warning("ignoring unreadable %s: %s", path, exc)
        return None


def _queue_full() -> ImageQueueFull:
    return ImageQueueFull("too many images queued; skip this one", headers={"Retry-After": "1"})
