"""SHA-256 of files, fast and cached.

Hashing runs in a thread pool: `hashlib` releases the GIL while digesting large buffers, so several
files hash in parallel and reads overlap with digests. Results are cached in a small SQLite file,
keyed by absolute path and validated by size and mtime (nanoseconds), so an unchanged project is
not read again on the next submission. Everything here is synchronous; async callers use
`asyncio.to_thread`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

_log = logging.getLogger(__name__)

BUFFER_SIZE = 1 << 20  # large reads: fewer syscalls and GIL round trips per byte
CACHE_FILENAME = "shasums.sqlite3"
CACHE_MAX_AGE = 60 * 24 * 3600.0  # entries unused for 60 days are dropped (as BAT does)


@dataclass(frozen=True, slots=True)
class FileHash:
    sha: str
    size: int


def hash_file(path: Path | str, buffer_size: int = BUFFER_SIZE) -> FileHash:
    """SHA-256 hex digest and byte count of one file."""
    hasher = hashlib.sha256()
    buf = bytearray(buffer_size)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            hasher.update(view[:n])
            size += n
    return FileHash(hasher.hexdigest(), size)


class HashCache:
    """Path -> (size, mtime_ns, sha) in SQLite. Use from one thread (the one that opened it)."""

    def __init__(self, cache_dir: Path | str | None):
        path = ":memory:" if cache_dir is None else str(Path(cache_dir) / CACHE_FILENAME)
        if cache_dir is not None:
            Path(cache_dir).mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=10)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS shasums (path TEXT PRIMARY KEY, size INTEGER NOT NULL,"
            " mtime_ns INTEGER NOT NULL, sha TEXT NOT NULL, used REAL NOT NULL)"
        )
        self._db.execute("DELETE FROM shasums WHERE used < ?", (time.time() - CACHE_MAX_AGE,))
        self._db.commit()

    def lookup(self, path: str, st: os.stat_result) -> str | None:
        row = self._db.execute("SELECT size, mtime_ns, sha FROM shasums WHERE path = ?", (path,)).fetchone()
        if row is None or row[0] != st.st_size or row[1] != st.st_mtime_ns:
            return None
        return str(row[2])

    def store_many(self, entries: Iterable[tuple[str, os.stat_result, str]]) -> None:
        now = time.time()
        rows = [(path, st.st_size, st.st_mtime_ns, sha, now) for path, st, sha in entries]
        self._db.executemany("INSERT OR REPLACE INTO shasums VALUES (?, ?, ?, ?, ?)", rows)
        self._db.commit()

    def close(self) -> None:
        self._db.close()


@dataclass(slots=True)
class HashStats:
    hashed_files: int = 0
    hashed_bytes: int = 0
    cached_files: int = 0


def hash_files(
    paths: list[Path],
    cache: HashCache | None = None,
    *,
    workers: int | None = None,
    on_file: Callable[[Path, FileHash], None] | None = None,
    stats: HashStats | None = None,
) -> dict[Path, FileHash]:
    """Hash every path (cache hits skip the read). `on_file` is called in this thread per file."""
    stats = stats if stats is not None else HashStats()
    results: dict[Path, FileHash] = {}
    todo: list[tuple[Path, os.stat_result]] = []
    for path in paths:
        st = path.stat()
        cached = cache.lookup(str(path), st) if cache else None
        if cached is None:
            todo.append((path, st))
            continue
        results[path] = FileHash(cached, st.st_size)
        stats.cached_files += 1
        if on_file:
            on_file(path, results[path])
    fresh = _hash_in_pool(todo, workers, results, on_file, stats)
    if cache and fresh:
        cache.store_many(fresh)
    return results


def _hash_in_pool(
    todo: list[tuple[Path, os.stat_result]],
    workers: int | None,
    results: dict[Path, FileHash],
    on_file: Callable[[Path, FileHash], None] | None,
    stats: HashStats,
) -> list[tuple[str, os.stat_result, str]]:
    if not todo:
        return []
    workers = workers or min(8, os.cpu_count() or 2)
    fresh: list[tuple[str, os.stat_result, str]] = []
    # Largest first, so one big file does not start last and leave the other threads idle.
    todo.sort(key=lambda item: item[1].st_size, reverse=True)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash") as pool:
        futures = {pool.submit(hash_file, path): (path, st) for path, st in todo}
        for future in as_completed(futures):
            path, st = futures[future]
            digest = future.result()
            results[path] = digest
            stats.hashed_files += 1
            stats.hashed_bytes += digest.size
            if _unchanged(path, st):  # a file written during hashing must not poison the cache
                fresh.append((str(path), st, digest.sha))
            if on_file:
                on_file(path, digest)
    return fresh


def _unchanged(path: Path, before: os.stat_result) -> bool:
    try:
        after = path.stat()
    except FileNotFoundError:
        return False
    return (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
