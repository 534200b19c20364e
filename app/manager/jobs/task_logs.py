"""Task log storage: one append-only text file per task, with size rotation.

Logs live in the job's folder of the Manager's local storage as
`task-<task uuid>.txt`, so the Manager can serve them statically under
`/job-files/...`. When an append would push a file past `max_bytes`, the file
is rotated first: `.1` is the newest old part, `.<keep>` the oldest, and older
parts are dropped.

Concurrency model, and why:
- All file IO runs on one dedicated thread. That thread runs jobs in
  submission order, so a rotation can never race a read or another write.
- Appends are write-behind: `append` puts whole lines in a per-file buffer and
  returns; one flusher task per file (that is the per-file lock) writes the
  buffer with a single `write()` call. Texts are whole lines and only one
  flusher per file exists, so concurrent appends never interleave partial
  lines. A hop to the IO thread costs tens of microseconds; paying it per
  batch instead of per line is what keeps 10,000 one-line appends fast.
- Every read first waits for the file's buffer to be written, so a reader
  always sees all appends that returned before it started. A buffer larger
  than `_MAX_PENDING_BYTES` makes `append` wait, so a slow disk pushes back.
- No file stays open between calls, so removing a job folder or rotating a log
  works on Windows too.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, TypeVar

from app.manager.jobs.local_storage import LocalStorage, canonical_uuid

_log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 10 * 1024 * 1024
DEFAULT_KEEP = 3
DEFAULT_TAIL_BYTES = 2048
_CHUNK_SIZE = 64 * 1024
_MAX_PENDING_BYTES = 1024 * 1024
_PATH_CACHE_SIZE = 4096
_JOB_DIR_CACHE_SIZE = 256

_T = TypeVar("_T")


class _Clock(Protocol):
    """The part of `app.common.clock.Clock` this module needs."""

    def now(self) -> datetime: ...


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def log_filename(task_id: str) -> str:
    """The file name of a task's current log part."""
    return f"task-{canonical_uuid(task_id, 'task id')}.txt"


def rfc3339_utc(moment: datetime) -> str:
    """`2024-05-01T12:34:56.789Z`: RFC 3339, UTC, millisecond precision."""
    if moment.tzinfo is UTC:  # the clock's own: no conversion needed
        return moment.isoformat(timespec="milliseconds")[:-6] + "Z"
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TaskLogs:
    """Reads and writes task logs in a `LocalStorage`.

    `append` returns once the text is queued for the IO thread; write errors
    are logged, not raised, because a task update must not fail over a log
    line. Call `await close()` at shutdown to write what is queued and stop
    the IO thread.
    """

    def __init__(
        self,
        storage: LocalStorage,
        max_bytes: int = DEFAULT_MAX_BYTES,
        keep: int = DEFAULT_KEEP,
        *,
        clock: _Clock | None = None,
    ) -> None:
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        if keep < 0:
            raise ValueError("keep must be zero or more")
        self.storage = storage
        self.max_bytes = max_bytes
        self.keep = keep
        self._clock = clock or _UtcClock()
        # Appends wait here; one flusher writes every pending file per trip to the IO thread, so a
        # busy farm (two lines per task claim, each to its own file) costs one hop, not one per file.
        self._pending: dict[Path, list[bytes]] = {}
        self._pending_total = 0
        self._writing: set[Path] = set()
        self._flusher: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="task-logs")
        # Building and checking a path costs more than the write it is for (70 us for the job's
        # folder alone); tasks log in bursts, and a job's tasks share its folder.
        self.log_path = functools.lru_cache(maxsize=_PATH_CACHE_SIZE)(self._log_path)
        self._job_dir = functools.lru_cache(maxsize=_JOB_DIR_CACHE_SIZE)(storage.job_dir)

    async def drain(self) -> None:
        """Wait until every queued append has been written."""
        while self._flusher is not None:
            await asyncio.gather(asyncio.shield(self._flusher), return_exceptions=True)

    async def drain_job(self, job_id: str) -> None:
        """Wait for queued appends of one job; call before removing its folder."""
        job_dir = self.storage.job_dir(job_id)
        while any(path.parent == job_dir for path in (*self._pending, *self._writing)):
            await self.drain()

    async def close(self) -> None:
        """Write what is queued, then stop the IO thread. Call once, at shutdown."""
        await self.drain()
        self._executor.shutdown(wait=True)

    # Paths ------------------------------------------------------------------

    def _log_path(self, job_id: str, task_id: str) -> Path:
        """Path of the task's current log part (it may not exist yet)."""
        return self._job_dir(job_id) / log_filename(task_id)

    def log_url_path(self, job_id: str, task_id: str) -> str:
        """`/job-files/job-xxxx/<job uuid>/task-<task uuid>.txt`: the current part, served statically."""
        return self.storage.job_file_url(job_id, log_filename(task_id))

    # Writing ----------------------------------------------------------------

    async def append(self, job_id: str, task_id: str, text: str) -> None:
        """Append `text` (one or more lines) to the task's log.

        A missing final newline is added, so the next append starts a new line. Waits only when
        more than _MAX_PENDING_BYTES are queued (back-pressure on chatty workers).
        """
        path = self._queue(job_id, task_id, text)
        if path is not None and self._pending_total > _MAX_PENDING_BYTES:
            await self._wait_written(path)

    def queue_manager_lines(self, lines: Iterable[tuple[str, str, str]]) -> None:
        """Queue Manager lines (job id, task id, text) without waiting; they keep their order.

        Each line is prefixed with an RFC 3339 UTC timestamp. A multi-line message gets the timestamp on each line, so every line in
        the file still says when it was written.
        """
        stamp = rfc3339_utc(self._clock.now())
        for job_id, task_id, line in lines:
            parts = line.rstrip("\n").splitlines() or [""]
            self._queue(job_id, task_id, "".join(f"{stamp} {part}\n" for part in parts))

    def _queue(self, job_id: str, task_id: str, text: str) -> Path | None:
        if not text:
            return None
        if not text.endswith("\n"):
            text += "\n"
        # Lone surrogates (from undecodable worker output) must not fail the write.
        data = text.encode("utf-8", errors="replace")
        path = self.log_path(job_id, task_id)
        self._pending.setdefault(path, []).append(data)
        self._pending_total += len(data)
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_all(), name="flush task logs")
        return path

    async def _flush_all(self) -> None:
        """The only writer: hands every pending batch to the IO thread until nothing is left."""
        try:
            while self._pending:
                batch, self._pending, self._pending_total = self._pending, {}, 0
                self._writing = set(batch)
                try:
                    await self._run(self._write_batch_blocking, batch)
                except Exception:
                    _log.exception("unexpected error writing task logs")
                finally:
                    self._writing = set()
        finally:
            self._flusher = None

    def _write_batch_blocking(self, batch: dict[Path, list[bytes]]) -> None:
        for path, chunks in batch.items():
            try:
                self._append_blocking(path, chunks)
            except OSError as exc:
                _log.error("could not write task log %s: %s", path, exc)

    async def _wait_written(self, path: Path) -> None:
        while self._flusher is not None and (path in self._pending or path in self._writing):
            # Shielded: a cancelled reader must not cancel the writes of others.
            await asyncio.gather(asyncio.shield(self._flusher), return_exceptions=True)

    def _append_blocking(self, path: Path, chunks: list[bytes]) -> None:
        """Write a batch of appends, rotating between appends as each one requires.

        Plain file descriptors, not `open()`: most writes create a task's log with one status
        line, and the io layers cost as much as the file creation (bench/farm.py's claims).
        """
        fd = _open_append(path)
        try:
            size = os.fstat(fd).st_size
            for group in _split_for_rotation(size, chunks, self.max_bytes):
                if group.rotate_first:
                    os.close(fd)
                    fd = -1
                    self._rotate_blocking(path)
                    fd = _open_append(path)
                _write_all(fd, b"".join(group.chunks))
        finally:
            if fd >= 0:
                os.close(fd)

    def _rotate_blocking(self, path: Path) -> None:
        try:
            if self.keep == 0:
                path.unlink(missing_ok=True)
                return
            _part(path, self.keep).unlink(missing_ok=True)
            for index in range(self.keep - 1, 0, -1):
                older = _part(path, index)
                if older.exists():
                    os.replace(older, _part(path, index + 1))
            os.replace(path, _part(path, 1))
        except OSError as exc:
            # On Windows a file being served cannot be renamed; growing past the
            # limit for a while beats losing log lines.
            _log.warning("could not rotate task log %s: %s", path, exc)
        else:
            _log.debug("rotated task log %s", path)

    # Reading ----------------------------------------------------------------

    async def tail(self, job_id: str, task_id: str, max_bytes: int = DEFAULT_TAIL_BYTES) -> str:
        """The last `max_bytes` of the log at most, starting at a line start.

        Rotated parts are included when the current part is shorter. Returns ""
        when there is no log. A single line longer than `max_bytes` is returned
        as its valid-UTF-8 tail, since cutting at a line start would give nothing.
        """
        path = self.log_path(job_id, task_id)
        await self._wait_written(path)
        return await self._run(self._tail_blocking, path, max_bytes)

    async def whole(self, job_id: str, task_id: str) -> str:
        """The entire log, rotated parts included, oldest first. "" when there is none."""
        chunks = [chunk async for chunk in self.iter_bytes(job_id, task_id)]
        return b"".join(chunks).decode("utf-8", errors="replace")

    async def parts(self, job_id: str, task_id: str) -> list[Path]:
        """Existing log files in reading order: oldest rotated part first, current last."""
        path = self.log_path(job_id, task_id)
        await self._wait_written(path)
        return await self._run(self._parts_blocking, path)

    async def iter_bytes(
        self, job_id: str, task_id: str, chunk_size: int = _CHUNK_SIZE
    ) -> AsyncIterator[bytes]:
        """Stream the whole log (all parts, oldest first) for an HTTP response.

        All parts are opened in one go, so a rotation while streaming cannot
        shift the parts under the reader (open files survive a rename).
        """
        path = self.log_path(job_id, task_id)
        await self._wait_written(path)
        handles = await self._run(self._open_parts_blocking, path)
        try:
            for handle in handles:
                while chunk := await self._run(handle.read, chunk_size):
                    yield chunk
        finally:
            await self._run(_close_all, handles)

    async def size(self, job_id: str, task_id: str, *, include_rotated: bool = False) -> int:
        """Size in bytes of the current part (what `log_url_path` serves), 0 when absent.

        With `include_rotated`, the total of all parts.
        """
        path = self.log_path(job_id, task_id)
        await self._wait_written(path)
        return await self._run(self._size_blocking, path, include_rotated)

    def _parts_blocking(self, path: Path) -> list[Path]:
        rotated = [_part(path, index) for index in range(self.keep, 0, -1)]
        return [part for part in [*rotated, path] if part.is_file()]

    def _open_parts_blocking(self, path: Path) -> list[BinaryIO]:
        handles: list[BinaryIO] = []
        with contextlib.ExitStack() as opened:  # closes those already open if a later open fails
            for part in self._parts_blocking(path):
                try:
                    handles.append(opened.enter_context(open(part, "rb")))
                except FileNotFoundError:
                    continue  # Dropped by a rotation between listing and opening.
            opened.pop_all()  # the caller closes them
        return handles

    def _size_blocking(self, path: Path, include_rotated: bool) -> int:
        parts = self._parts_blocking(path) if include_rotated else [path]
        return sum(part.stat().st_size for part in parts if part.is_file())

    def _tail_blocking(self, path: Path, max_bytes: int) -> str:
        # Read one byte more than asked: it tells whether the window starts at a line start.
        wanted = max_bytes + 1
        pieces: list[bytes] = []
        for part in reversed(self._parts_blocking(path)):
            with open(part, "rb") as handle:
                size = handle.seek(0, os.SEEK_END)
                start = max(0, size - wanted)
                handle.seek(start)
                pieces.append(handle.read())
            wanted -= size - start
            if wanted <= 0:
                break
        raw = b"".join(reversed(pieces))
        if len(raw) <= max_bytes:
            return raw.decode("utf-8", errors="replace")
        return _cut_at_line_start(raw).decode("utf-8", errors="replace")

    async def _run(self, func: Callable[..., _T], *args: object) -> _T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)


@dataclass
class _WriteGroup:
    rotate_first: bool
    chunks: list[bytes] = field(default_factory=list)


_APPEND_FLAGS = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_BINARY", 0)


def _open_append(path: Path) -> int:
    try:
        return os.open(path, _APPEND_FLAGS, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, _APPEND_FLAGS, 0o644)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _split_for_rotation(size: int, chunks: list[bytes], max_bytes: int) -> list[_WriteGroup]:
    """Group appends into writes, starting a new file where an append would pass `max_bytes`.

    An append is never split, so a file only exceeds `max_bytes` when a single
    append is larger than that on its own.
    """
    groups = [_WriteGroup(rotate_first=False)]
    for chunk in chunks:
        if size > 0 and size + len(chunk) > max_bytes:
            groups.append(_WriteGroup(rotate_first=True))
            size = 0
        groups[-1].chunks.append(chunk)
        size += len(chunk)
    return [group for group in groups if group.chunks]


def _part(path: Path, index: int) -> Path:
    return path.with_name(f"{path.name}.{index}")


def _cut_at_line_start(raw: bytes) -> bytes:
    """Drop the partial first line of a tail window; `raw[0]` is the byte before the window."""
    body = raw[1:]
    if raw[:1] == b"\n":
        return body
    newline = body.find(b"\n")
    if newline >= 0 and newline + 1 < len(body):
        return body[newline + 1 :]
    # One very long line: keep its tail, starting at a UTF-8 character boundary.
    start = 0
    while start < len(body) and 0x80 <= body[start] < 0xC0:
        start += 1
    return body[start:]


def _close_all(handles: list[BinaryIO]) -> None:
    for handle in handles:
        handle.close()
