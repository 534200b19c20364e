"""Hashing and the hash cache."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from app.packer.hashing import HashCache, HashStats, hash_file, hash_files


def test_hash_file_matches_hashlib(tmp_path: Path) -> None:
    for size in (0, 1, (1 << 20) - 1, (1 << 20) + 1, 3 << 20):
        path = tmp_path / f"f{size}"
        data = os.urandom(size)
        path.write_bytes(data)
        digest = hash_file(path)
        assert (digest.sha, digest.size) == (hashlib.sha256(data).hexdigest(), size)


def test_cache_skips_unchanged_files_and_rehashes_changed_ones(tmp_path: Path) -> None:
    files = []
    for i in range(5):
        path = tmp_path / f"file{i}"
        path.write_bytes(os.urandom(1000 + i))
        files.append(path)
    cache_dir = tmp_path / "cache"
    first_stats = HashStats()
    first = hash_files(files, HashCache(cache_dir), stats=first_stats)
    assert first_stats.hashed_files == 5

    files[2].write_bytes(b"changed")
    stats = HashStats()
    reopened = HashCache(cache_dir)  # the cache survives in its SQLite file
    second = hash_files(files, reopened, stats=stats)
    assert (stats.hashed_files, stats.cached_files) == (1, 4)
    assert second[files[2]].sha == hashlib.sha256(b"changed").hexdigest()
    assert {p: second[p] for p in files if p != files[2]} == {p: first[p] for p in files if p != files[2]}


def test_touching_a_file_invalidates_its_cache_entry(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"same")
    cache = HashCache(None)
    hash_files([path], cache)
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
    stats = HashStats()
    hash_files([path], cache, stats=stats)
    assert stats.hashed_files == 1
