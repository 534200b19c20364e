"""Checkouts: per-job directory trees under the jobs root whose files point at stored blobs.

A checkout is built from `{files: [{sha, size, path}], checkoutPath}`. Every path is validated
before anything is created, blobs are touched (which also proves they exist and keeps GC away),
then the tree is made of relative symlinks, hard links or copies (`LinkMode`). Any failure removes
the partial checkout and the folders made for it, so a job directory is either complete or absent.

Every finished checkout is recorded (`CheckoutRecords`). A checkout is never made inside another
one, nor through a symbolic link, and only a recorded checkout is ever erased, through real
folders inside the jobs root: one job's deletion cannot reach another job's files.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import stat
import string
import threading
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.api.errors import ApiError, BadRequest, Conflict
from app.shaman.config import LinkMode
from app.shaman.errors import MissingFiles
from app.shaman.paths import (
    CHECKOUT_PATH_FORBIDDEN,
    FILE_PATH_FORBIDDEN,
    MAX_CHECKOUT_PATH_CHARS,
    MAX_NAME_BYTES,
    check_fits_under,
    shown,
    validate_checkout_path,
    validate_relative_path,
)
from app.shaman.records import RECORDS_DIR, CheckoutRecords
from app.shaman.specs import FileKey, FileSpec
from app.shaman.store import FileStore, blob_relpath

_log = logging.getLogger(__name__)

_SUFFIX_TRIES = 10
_SUFFIX_LEN = 5  # "-" and four characters
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
# Order of preference; AUTO falls down this list when the OS refuses a mode.
_FALLBACK = [LinkMode.SYMLINK, LinkMode.HARDLINK, LinkMode.COPY]
__all__ = ["CHECKOUT_PATH_FORBIDDEN", "FILE_PATH_FORBIDDEN", "CheckoutManager", "CheckoutResult",
           "plan_checkout", "validate_checkout_path", "validate_relative_path"]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The checkout actually made: its path relative to the jobs root and the weakest link mode used."""

    checkout_path: str
    link_mode: LinkMode
    file_count: int


def plan_checkout(files: list[FileSpec]) -> dict[str, FileKey]:
    """Validate every file path and map path -> file key; duplicates must agree, files can't be dirs."""
    plan: dict[str, FileKey] = {}
    for spec in files:
        path = validate_relative_path(spec.path, "file path")
        known = plan.setdefault(path, spec.key)
        if known != spec.key:
            raise BadRequest(f"file path {shown(spec.path)} is listed twice with different contents")
    parents = {path[:i] for path in plan for i, ch in enumerate(path) if ch == "/"}
    clashes = [p for p in plan if p in parents]
    if clashes:
        raise BadRequest(f"paths used both as file and as directory: {', '.join(map(shown, clashes[:5]))}")
    return plan


class CheckoutManager:
    """Creates and erases checkouts under one jobs root, linking to blobs of one `FileStore`."""

    def __init__(self, store: FileStore, root: Path, link_mode: LinkMode = LinkMode.AUTO,
                 records: CheckoutRecords | None = None):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.store = store
        self.link_mode = link_mode
        self.records = records if records is not None else CheckoutRecords(store.root / RECORDS_DIR)
        # Making folders and claiming a checkout's name happen under one lock, so no checkout can
        # be started inside another that is still being filled.
        self._lock = threading.Lock()
        self._in_progress: set[str] = set()

    async def create(self, files: list[FileSpec], checkout_path: str) -> CheckoutResult:
        """Build the checkout; raises BadRequest (400), MissingFiles (424) or Conflict (409)."""
        rel = validate_checkout_path(checkout_path, max_chars=MAX_CHECKOUT_PATH_CHARS)
        plan = plan_checkout(files)
        return await asyncio.to_thread(self._create_sync, rel, plan)

    async def erase(self, checkout_path: str) -> bool:
        """Remove a recorded checkout (job deletion) and its empty parents.

        False, with nothing touched, when the path is not a checkout this Shaman recorded (or is
        no longer a real folder inside the jobs root). Raises OSError when the tree could not be
        removed completely; the record then stays, so a later call can try again.
        """
        rel = validate_checkout_path(checkout_path)
        return await asyncio.to_thread(self._erase_sync, rel)

    def is_recorded(self, checkout_path: str) -> bool:
        """Whether `checkout_path` is a checkout this Shaman made and has not erased (blocking)."""
        return self.records.contains(checkout_path)

    # ---- blocking parts, run in a worker thread ----

    def _create_sync(self, rel: PurePosixPath, plan: dict[str, FileKey]) -> CheckoutResult:
        check_fits_under(str(self.root), rel.as_posix(), max(plan, key=lambda p: len(p.encode()), default=""))
        # Touching first both proves every blob exists and refreshes its age so GC leaves it alone.
        missing = [
            f"{path} ({key.sha[:12]}…/{key.size})" for path, key in plan.items() if not self.store.touch(key)
        ]
        if missing:
            raise MissingFiles(missing)
        made: list[Path] = []  # folders made for this checkout, the checkout's own folder last
        try:
            with self._lock:
                target = self._make_unique_dir(rel, made)
                actual = target.relative_to(self.root).as_posix()
                self._in_progress.add(actual)
            try:
                mode = self._populate(target, plan)
                self.records.add(actual)
            except BaseException:
                shutil.rmtree(target, ignore_errors=True)
                raise
            finally:
                with self._lock:
                    self._in_progress.discard(actual)
        except BaseException as exc:
            _remove_empty(made)
            if isinstance(exc, OSError):
                _log.warning("could not create checkout %s: %s", rel, exc)
                raise ApiError(f"could not create the checkout: {exc.strerror or exc}", status=500) from None
            raise
        _log.info("created checkout %s with %d files (%s)", actual, len(plan), mode)
        return CheckoutResult(actual, mode, len(plan))

    def _make_unique_dir(self, rel: PurePosixPath, made: list[Path]) -> Path:
        parent = self._make_dirs_inside_root(rel.parent, made)
        name = rel.name
        if len(name.encode()) + _SUFFIX_LEN > MAX_NAME_BYTES:  # leave room for a suffix
            name = name.encode()[: MAX_NAME_BYTES - _SUFFIX_LEN].decode("utf-8", "ignore")
        for attempt in range(_SUFFIX_TRIES + 1):
            suffix = "" if attempt == 0 else "-" + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(4))
            candidate = parent / f"{rel.name if attempt == 0 else name}{suffix}"
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            made.append(candidate)
            return candidate
        raise Conflict(f"checkout path {shown(str(rel))} already exists, also with {_SUFFIX_TRIES} random suffixes")

    def _make_dirs_inside_root(self, rel_dir: PurePosixPath, made: list[Path]) -> Path:
        """Create `root/rel_dir` one folder at a time (appending each to `made`).

        Every existing step must be a real folder (not a symbolic link, which could lead out of
        the root or into another checkout) and must not be a checkout, finished or in progress.
        """
        current, sofar = self.root, ""
        for part in rel_dir.parts:
            current, sofar = current / part, f"{sofar}/{part}" if sofar else part
            if sofar in self._in_progress or self.records.contains(sofar):
                raise Conflict(f"checkout path would be inside the existing checkout {shown(sofar)}")
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                current.mkdir()
                made.append(current)
                continue
            if stat.S_ISLNK(mode):
                raise Conflict(f"checkout path leads through the symbolic link {shown(part)}")
            if not stat.S_ISDIR(mode):
                raise Conflict(f"checkout path component {shown(part)} is not a directory")
        return current

    def _populate(self, target: Path, plan: dict[str, FileKey]) -> LinkMode:
        modes: list[LinkMode] = list(_FALLBACK) if self.link_mode is LinkMode.AUTO else [self.link_mode]
        stored = str(self.store.stored_dir)
        # Per directory, the relative way up to `stored/`: one relpath per directory, not per file.
        up_to_store: dict[str, str] = {}
        for rel, key in plan.items():
            dest = os.path.join(target, rel)
            parent = os.path.dirname(dest)
            prefix = up_to_store.get(parent)
            if prefix is None:
                _make_dirs(parent)
                prefix = up_to_store[parent] = os.path.relpath(stored, parent)
            blob = blob_relpath(key)
            self._link_with_fallback(os.path.join(stored, blob), os.path.join(prefix, blob), dest, modes)
        return modes[0]

    def _link_with_fallback(self, blob: str, relative_blob: str, dest: str, modes: list[LinkMode]) -> None:
        """Link in modes[0]; on refusal drop that mode (for the rest of the checkout) and retry."""
        while True:
            try:
                _link(blob, relative_blob, dest, modes[0])
                return
            except FileNotFoundError:
                raise MissingFiles([os.path.basename(dest)]) from None
            except OSError as exc:
                if len(modes) == 1:
                    raise
                _log.info("checkout: %s not possible here (%s), falling back to %s", modes[0], exc, modes[1])
                del modes[0]

    def _erase_sync(self, rel: PurePosixPath) -> bool:
        checkout = rel.as_posix()
        if not self.records.contains(checkout):
            _log.info("not erasing %s: it is not a checkout this Shaman made", shown(checkout))
            return False
        target = self._real_folder(rel)
        if target is None:
            self.records.remove(checkout)
            return False
        errors: list[str] = []
        shutil.rmtree(target, onerror=lambda _fn, path, exc: errors.append(f"{path}: {exc[1]}"))
        if os.path.lexists(target):
            raise OSError(f"could not remove checkout {checkout} completely: {'; '.join(errors[:3])}")
        self.records.remove(checkout)
        self._prune_empty_parents(target.parent)
        _log.info("erased checkout %s", checkout)
        return True

    def _real_folder(self, rel: PurePosixPath) -> Path | None:
        """`root/rel` when every step of it is a real folder (no link, no file); else None."""
        current = self.root
        for part in rel.parts:
            current = current / part
            try:
                mode = os.lstat(current).st_mode
            except FileNotFoundError:
                _log.info("checkout %s is gone already", rel)
                return None
            if not stat.S_ISDIR(mode):  # lstat: a symbolic link is not a folder here
                _log.warning("not erasing checkout %s: %s is no longer a folder", rel, shown(part))
                return None
        return current

    def _prune_empty_parents(self, parent: Path) -> None:
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def _remove_empty(folders: list[Path]) -> None:
    """Remove the folders a failed creation made, deepest first, as long as they are empty."""
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            return  # not empty: another checkout is being made in it now


def _make_dirs(path: str) -> None:
    """`os.makedirs` without recursion (it recurses once per missing level)."""
    missing: list[str] = []
    while not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        os.mkdir(folder)


def _link(blob: str, relative_blob: str, dest: str, mode: LinkMode) -> None:
    if mode is LinkMode.SYMLINK:
        # Relative, so the checkout stays valid when the shared storage is mounted elsewhere.
        os.symlink(relative_blob, dest)
    elif mode is LinkMode.HARDLINK:
        os.link(blob, dest)
    else:
        shutil.copyfile(blob, dest)
