"""Garbage collection of the store: remove old blobs that no checkout uses.

A blob is garbage when its mtime is older than `max_age` (requirements and checkouts touch the
blobs they use) and nothing under the jobs root refers to it: no symlink points at it, and it has
no second hard link (a hard-linked checkout file shares the blob's inode). Copies do not refer to
the blob at all, so those blobs may go. Just before deleting, the mtime is checked again, so a blob
touched by a submission that raced with the sweep survives.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.shaman.store import FileStore

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class GCReport:
    """What one run found (and, unless dry_run, deleted)."""

    dry_run: bool
    candidates: list[Path] = field(default_factory=list)  # old and unreferenced blobs
    candidate_bytes: int = 0
    deleted: list[Path] = field(default_factory=list)
    deleted_bytes: int = 0
    skipped_changed: int = 0  # touched between scan and delete
    stale_uploads_removed: int = 0


class GarbageCollector:
    """Age-based, reference-aware sweep of one store against one jobs root (blocking; run in a thread)."""

    def __init__(
        self,
        store: FileStore,
        checkout_root: Path,
        max_age: float,
        *,
        stale_upload_age: float | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.store = store
        self.checkout_root = checkout_root.resolve()
        self.max_age = max_age
        self.stale_upload_age = stale_upload_age
        self._clock = clock

    def collect(self, dry_run: bool = False) -> GCReport:
        report = GCReport(dry_run=dry_run)
        old = self._old_unshared_blobs()
        self._drop_symlinked(old)
        report.candidates = sorted(old)
        report.candidate_bytes = sum(size for _mtime, size in old.values())
        if not dry_run:
            self._delete(old, report)
            if self.stale_upload_age is not None:
                report.stale_uploads_removed = self.store.sweep_stale_uploads(
                    self.stale_upload_age, self._clock()
                )
        _log.info(
            "shaman gc%s: %d unreferenced old blobs (%d bytes), %d deleted",
            " (dry run)" if dry_run else "",
            len(old),
            report.candidate_bytes,
            len(report.deleted),
        )
        return report

    def _old_unshared_blobs(self) -> dict[Path, tuple[float, int]]:
        """Blob path -> (mtime, size) for blobs older than max_age with a single hard link."""
        cutoff = self._clock() - self.max_age
        found: dict[Path, tuple[float, int]] = {}
        for dirpath, _dirs, files in os.walk(self.store.stored_dir):
            for name in files:
                if not name.endswith(".blob"):
                    continue
                path = Path(dirpath, name)
                try:
                    st = path.stat()
                except FileNotFoundError:
                    continue
                if st.st_mtime < cutoff and st.st_nlink == 1:
                    found[path] = (st.st_mtime, st.st_size)
        return found

    def _drop_symlinked(self, candidates: dict[Path, tuple[float, int]]) -> None:
        """Remove from `candidates` every blob a symlink under the jobs root points at."""
        if not candidates or not self.checkout_root.is_dir():
            return
        by_inode = _inode_index(candidates)
        for dirpath, dirnames, filenames in os.walk(self.checkout_root):
            # os.walk lists symlinks to directories in dirnames but does not descend into them.
            for name in filenames + dirnames:
                link = os.path.join(dirpath, name)
                if os.path.islink(link):
                    _drop_target(link, dirpath, candidates, by_inode)
            if not candidates:
                return

    def _delete(self, candidates: dict[Path, tuple[float, int]], report: GCReport) -> None:
        for path, (mtime, size) in sorted(candidates.items()):
            try:
                st = path.stat()
                if st.st_mtime != mtime or st.st_nlink != 1:
                    report.skipped_changed += 1
                    continue
                path.unlink()
            except FileNotFoundError:
                continue
            report.deleted.append(path)
            report.deleted_bytes += size
            _prune_empty_dirs(path.parent, self.store.stored_dir)


def _inode_index(candidates: dict[Path, tuple[float, int]]) -> dict[tuple[int, int], Path]:
    index: dict[tuple[int, int], Path] = {}
    for path in candidates:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        index[(st.st_dev, st.st_ino)] = path
    return index


def _drop_target(
    link: str, dirpath: str, candidates: dict[Path, tuple[float, int]], by_inode: dict[tuple[int, int], Path]
) -> None:
    # Our checkouts link with relative paths made from resolved roots, so the lexical target
    # usually matches; links spelled differently (older absolute links, other mount paths) are
    # matched by inode, which costs one stat.
    target = Path(os.path.normpath(os.path.join(dirpath, os.readlink(link))))
    if candidates.pop(target, None) is not None:
        return
    try:
        st = os.stat(link)
    except OSError:
        return  # dangling link
    blob = by_inode.pop((st.st_dev, st.st_ino), None)
    if blob is not None:
        candidates.pop(blob, None)


def _prune_empty_dirs(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_relative_to(stop):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent
