"""Last-rendered images: take worker uploads, make thumbnails, remember the newest.

Workers POST the frame they just rendered (JPEG or PNG, at most 25 MiB and
`last_rendered_max_pixels`, 40 megapixels by default: an 8K frame fits) to
`output-produced`. `LastRendered.receive` streams the body to a file in the
`<storage>-incoming` folder beside the storage root (not served; emptied at start), so
the Manager holds no upload in memory. It reads the picture's header before any
decoding and refuses one over the pixel limit (413, naming both sizes), then queues
it; the background `run()` turns queued pictures, one at a time, into three JPEGs in
the job's folder (`thumbnails`, which decodes big pictures in a memory-capped child
process):

- `last-rendered.jpg`, fit in 1920×1080;
- `last-rendered-small.jpg`, fit in 600×338;
- `last-rendered-tiny.jpg`, fit in 200×112.

The upload's request waits for its picture: 202 means the thumbnails were written,
and a picture that cannot be decoded (truncated, lying about its size, built to
exhaust the decoder) gets 415 with the reason. Nothing in the Manager decodes a
stored file: the last-rendered GETs serve the JPEGs made here as they are.

The queue is small on purpose (3, like Flamenco): a worker that sends frames
faster than the Manager can shrink them gets 429 and drops frames, which is
fine because only the newest frame matters. A place in the queue is taken before
the body is read, so refused uploads cost no disk or memory. The job that most
recently got an image is remembered in memory and in `last-rendered.json` in the
storage root, so the "last rendered" view survives a Manager restart. Each worker's
newest frame is kept too (`worker_frames.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import logging
import os
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from app.api.errors import ApiError
from app.api.jobs import LastRenderedInfo
from app.manager.jobs.local_storage import LocalStorage, canonical_uuid
from app.manager.pictures.picture_header import (
    ImageTooLarge,
    PictureHeader,
    UnsupportedImage,
    check_pixels,
    read_header,
)
from app.manager.pictures.thumbnails import (
    DEFAULT_TIMEOUT_S,
    THUMBNAILS,
    ChildThumbnails,
    decodes_in_process,
    make_thumbnails,
)
from app.manager.pictures.worker_frames import WorkerFrames
from app.manager.settings.config import ManagerConfig

_log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 25 * 1024 * 1024
DEFAULT_MAX_PIXELS = ManagerConfig.last_rendered_max_pixels
ACCEPTED_TYPES = frozenset({"image/jpeg", "image/png"})
STATE_FILENAME = "last-rendered.json"
SUFFIXES: tuple[str, ...] = tuple(name for name, _ in THUMBNAILS)
_FLUSH_BYTES = 1 << 20  # received body bytes gathered before one write to the incoming file

ProcessedCallback = Callable[[str, dict[str, Any]], Awaitable[None] | None]


class ImageQueueFull(ApiError):
    """429: the Manager is still busy with earlier images; the worker should skip this one."""

    status = 429


@dataclass(frozen=True, slots=True)
class _Upload:
    job_id: str
    path: Path
    header: PictureHeader
    done: asyncio.Future[None]
    worker_id: str | None = None
    task_id: str | None = None


class LastRendered:
    """Thumbnail maker and "which job rendered last" memory.

    `receive` may be called from any handler; `run` must be running (one
    instance) for queued images to be processed.
    """

    def __init__(
        self,
        storage: LocalStorage,
        queue_size: int = 3,
        *,
        on_processed: ProcessedCallback | None = None,
        max_bytes: int = MAX_IMAGE_BYTES,
        max_pixels: int = DEFAULT_MAX_PIXELS,
        incoming_dir: Path | None = None,
        decode_timeout_s: float = DEFAULT_TIMEOUT_S,
        worker_frames: WorkerFrames | None = None,
    ) -> None:
        self.storage = storage
        #: Keeps each worker's newest frame; None: only the jobs' are kept.
        self.worker_frames = worker_frames
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self.decode_timeout_s = decode_timeout_s
        self.on_processed = on_processed
        self.incoming_dir = incoming_dir or storage.root.with_name(storage.root.name + "-incoming")
        self._queue_size = queue_size
        self._queue: asyncio.Queue[_Upload] = asyncio.Queue(maxsize=queue_size)
        self._taken = 0  # places in the queue: uploads being received or waiting
        self._decoder: ThreadPoolExecutor | None = None  # made by run()
        self._fallen_back = False  # incoming files went to a temp folder
        # A tiny file read at construction (startup), so global_info() can stay synchronous.
        self._global_job: str | None = _load_state(storage.root_file(STATE_FILENAME))
        _empty_folder(self.incoming_dir)

    # Intake -------------------------------------------------------------------

    async def receive(self, job_id: str, content_type: str, content_length: int | None,
                      body: AsyncIterable[bytes], *, worker_id: str | None = None,
                      task_id: str | None = None) -> None:
        """Take one upload and wait until its thumbnails are written; raise 413, 415 or 429 otherwise.

        With `worker_id` the picture is also that worker's newest frame (of task `task_id`)."""
        job_id = canonical_uuid(job_id, "job id")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in ACCEPTED_TYPES:
            raise UnsupportedImage(f"unsupported image type {media_type!r}; send image/jpeg or image/png")
        if content_length is not None and content_length > self.max_bytes:
            raise _too_many_bytes(content_length, self.max_bytes)
        if self._taken >= self._queue_size:
            raise _queue_full()
        self._taken += 1
        queued = False
        try:
            async with self._incoming_file() as (path, fh):
                await self._spool(body, fh)
                header = await asyncio.to_thread(_read_header, path, self.max_pixels)
                done = asyncio.get_running_loop().create_future()
                upload = _Upload(job_id, path, header, done, worker_id, task_id)
                self._queue.put_nowait(upload)  # a place was taken above
                queued = True
        finally:
            if not queued:
                self._taken -= 1
        _log.debug("queued last-rendered image for job %s (%s)", job_id, header.describe())
        await done

    async def submit(self, job_id: str, data: bytes, mime: str) -> None:
        """`receive` for an image already in memory (tests, tools)."""

        async def one_chunk() -> AsyncIterator[bytes]:
            yield data

        await self.receive(job_id, mime, len(data), one_chunk())

    @contextlib.asynccontextmanager
    async def _incoming_file(self) -> AsyncIterator[tuple[Path, IO[bytes]]]:
        """A new file in the incoming folder; removed on the way out unless a queued upload owns it."""
        try:
            path, fh = await asyncio.to_thread(_new_incoming_file, self.incoming_dir)
        except OSError as exc:
            if self._fallen_back:
                raise _cannot_keep(exc) from None
            # The storage root's parent may not be ours to write in; a private temp folder will do.
            self._fallen_back = True
            folder = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="tablao-last-rendered-"))
            _log.warning("cannot keep uploaded images in %s (%s); using %s", self.incoming_dir, exc, folder)
            self.incoming_dir = folder
            try:
                path, fh = await asyncio.to_thread(_new_incoming_file, self.incoming_dir)
            except OSError as again:
                raise _cannot_keep(again) from None
        handed_over = False
        try:
            yield path, fh
            handed_over = True
        finally:
            # Runs on cancellation too (the worker hung up), so it must not await.
            fh.close()
            if not handed_over:
                path.unlink(missing_ok=True)

    async def _spool(self, body: AsyncIterable[bytes], fh: IO[bytes]) -> None:
        received, pending = 0, bytearray()
        async for chunk in body:
            received += len(chunk)
            if received > self.max_bytes:
                raise _too_many_bytes(received, self.max_bytes)
            pending += chunk
            if len(pending) >= _FLUSH_BYTES:
                await _write(fh, pending)  # not touched again until written
                pending = bytearray()
        await _write(fh, pending)

    # Processing -----------------------------------------------------------------

    async def run(self) -> None:
        """Process queued images, one at a time, until cancelled."""
        _log.debug("last-rendered processor started")
        # One thread for all decodes: glibc gives each thread that allocates its own heap (arena), and
        # each keeps what it freed, so decodes spread over the loop's pool grew the Manager by tens of
        # MiB (bench/picture_bomb.py); one thread reuses one heap.
        self._decoder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="last-rendered")
        try:
            await self._process_queue()
        finally:
            self._decoder.shutdown(wait=False, cancel_futures=True)

    async def _process_queue(self) -> None:
        while True:
            upload = await self._queue.get()
            self._taken -= 1
            try:
                await self._process(upload)
                _settle(upload.done)
            except ApiError as exc:
                # One line, no traceback: the worker gets the same words in its answer.
                _log.info("refused the last-rendered image of job %s: %s", upload.job_id, exc.message)
                _settle(upload.done, exc)
            except Exception:
                _log.exception("could not process last-rendered image of job %s", upload.job_id)
                _settle(upload.done, ApiError("the Manager could not make thumbnails of this image; "
                                              "its log says why", 500))
            finally:
                upload.path.unlink(missing_ok=True)
                self._queue.task_done()

    async def wait_idle(self) -> None:
        """Wait until every queued image has been processed (for tests and shutdown)."""
        await self._queue.join()

    async def _process(self, upload: _Upload) -> None:
        loop = asyncio.get_running_loop()
        if decodes_in_process(upload.header):
            images = await loop.run_in_executor(self._decoder, make_thumbnails, upload.path, self.max_pixels)
        else:
            child = ChildThumbnails(upload.path, self.max_pixels, self.decode_timeout_s)
            child.start()
            try:
                images = await loop.run_in_executor(self._decoder, child.result)
            except asyncio.CancelledError:
                child.kill()  # the thread waiting for it returns at once
                raise
        await asyncio.to_thread(self._write_images, upload, images)
        await self._remember(upload.job_id)
        info = self.info(upload.job_id)
        if info is not None:
            await self._notify(upload.job_id, info)

    def _write_images(self, upload: _Upload, images: list[tuple[str, bytes]]) -> None:
        job_dir = self.storage.ensure_job_dir(upload.job_id)
        # Smallest first, main image last: info() looks for the main image, so when
        # it exists all three do.
        for name, data in reversed(images):
            _write_atomically(job_dir / name, data)
        if upload.worker_id is not None and self.worker_frames is not None:
            self.worker_frames.keep(upload.worker_id, upload.job_id, upload.task_id)

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


# Incoming files (run in a thread) ---------------------------------------------------------


async def _write(fh: IO[bytes], data: bytearray) -> None:
    try:
        await asyncio.to_thread(_write_and_flush, fh, data)
    except OSError as exc:  # the disk is full, say (a worker hanging up is not an OSError here)
        raise _cannot_keep(exc) from None


def _write_and_flush(fh: IO[bytes], data: bytearray) -> None:
    fh.write(data)
    fh.flush()


def _new_incoming_file(folder: Path) -> tuple[Path, IO[bytes]]:
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="upload-", suffix=".tmp", dir=folder)
    return Path(name), os.fdopen(fd, "wb")


def _read_header(path: Path, max_pixels: int) -> PictureHeader:
    # Only the header here, so an upload over the limit is refused at once; a PNG's data is checked
    # by `make_thumbnails`, in whichever process decodes it.
    with open(path, "rb") as fh:
        header = read_header(fh)
    check_pixels(header, max_pixels)
    return header


def _empty_folder(folder: Path) -> None:
    """Remove what a Manager that stopped mid-upload left behind; nothing else uses the folder."""
    try:
        leftovers = list(folder.iterdir())
    except FileNotFoundError:
        return
    for path in leftovers:
        with contextlib.suppress(OSError):
            path.unlink()


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


def _too_many_bytes(size: int, limit: int) -> ImageTooLarge:
    return ImageTooLarge(f"the image is {size:,} bytes or more; the Manager takes images of at most {limit:,} bytes")


def _cannot_keep(exc: OSError) -> ImageQueueFull:
    _log.warning("cannot keep an uploaded image for decoding: %s", exc)
    return ImageQueueFull(f"the Manager cannot keep the image for decoding now ({exc.strerror or exc}); "
                          "skip this one", headers={"Retry-After": "1"})


def _settle(done: asyncio.Future[None], error: BaseException | None = None) -> None:
    """Answer the waiting upload, unless its worker has hung up (its future is cancelled then)."""
    if done.done():
        return
    if error is None:
        done.set_result(None)
    else:
        done.set_exception(error)
