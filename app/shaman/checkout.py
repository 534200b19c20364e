"""Checkouts: per-job directory trees under the jobs root whose files point at stored blobs.

A checkout is built from `{files: [{sha, size, path}], checkoutPath}`. Every path is validated
before anything is created, blobs are touched (which also proves they exist and keeps GC away),
then the tree is made of relative symlinks, hard links or copies (`LinkMode`). Any failure removes
the partial checkout, so a job directory is either complete or absent.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import shutil
import string
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from app.api.errors import BadRequest, Conflict
from app.shaman.config import LinkMode
from app.shaman.errors import MissingFiles
from app.shaman.specs import FileKey, FileSpec
from app.shaman.store import FileStore, blob_relpath

_log = logging.getLogger(__name__)

_SUFFIX_TRIES = 10
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
# Flamenco refuses these in checkout paths; ':' also rules out drive letters and NTFS streams,
# and '{' / '}' would clash with the Manager's `{variable}` substitution.
_CHECKOUT_PATH_FORBIDDEN = frozenset('\\:*?;{}"<>|')
_FILE_PATH_FORBIDDEN = frozenset('\\:"<>|')
# Order of preference; AUTO falls down this list when the OS refuses a mode.
_FALLBACK = [LinkMode.SYMLINK, LinkMode.HARDLINK, LinkMode.COPY]


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    """The checkout actually made: its path relative to the jobs root and the weakest link mode used."""

    checkout_path: str
    link_mode: LinkMode
    file_count: int


def validate_relative_path(value: object, what: str, forbidden: frozenset[str] = _FILE_PATH_FORBIDDEN) -> str:
    """Return `value` if it is a clean relative POSIX path, or raise BadRequest saying why not.

    Refused: empty, absolute (`/x`), drive letters (`C:\\x`, `C:x`), backslashes (a separator on
    Windows workers), control characters, and `.`/`..`/empty components, also the ones Windows
    would turn into `..` by trimming trailing dots and spaces.
    """
    if not isinstance(value, str) or not value:
        raise BadRequest(f"{what} must be a non-empty string")
    if value.startswith("/"):
        raise BadRequest(f"{what} {value!r} must be relative, not absolute")
    bad = {ch for ch in value if ch in forbidden or ord(ch) < 32 or ch == "\x7f"}
    if bad:
        raise BadRequest(f"{what} {value!r} contains forbidden characters {''.join(sorted(bad))!r}")
    for part in value.split("/"):
        if part.strip(". ") == "":
            raise BadRequest(f"{what} {value!r} contains an empty, '.' or '..' component")
    return value


def validate_checkout_path(value: object) -> PurePosixPath:
    return PurePosixPath(validate_relative_path(value, "checkout path", _CHECKOUT_PATH_FORBIDDEN))


def plan_checkout(files: list[FileSpec]) -> dict[str, FileKey]:
    """Validate every file path and map path -> file key; duplicates must agree, files can't be dirs."""
    plan: dict[str, FileKey] = {}
    for spec in files:
        path = validate_relative_path(spec.path, "file path")
        known = plan.setdefault(path, spec.key)
        if known != spec.key:
            raise BadRequest(f"file path {spec.path!r} is listed twice with different contents")
    parents = {path[:i] for path in plan for i, ch in enumerate(path) if ch == "/"}
    clashes = [p for p in plan if p in parents]
    if clashes:
        raise BadRequest(f"paths used both as file and as directory: {', '.join(clashes[:5])}")
    return plan


class CheckoutManager:
    """Creates and erases checkouts under one jobs root, linking to blobs of one `FileStore`."""

    def __init__(self, store: FileStore, root: Path, link_mode: LinkMode = LinkMode.AUTO):
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve()
        self.store = store
        self.link_mode = link_mode

    async def create(self, files: list[FileSpec], checkout_path: str) -> CheckoutResult:
        """Build the checkout; raises BadRequest (400), MissingFiles (424) or Conflict (409)."""
        rel = validate_checkout_path(checkout_path)
        plan = plan_checkout(files)
        return await asyncio.to_thread(self._create_sync, rel, plan)

    async def erase(self, checkout_path: str) -> bool:
        """Remove a checkout (job deletion) and its empty parents; False when it did not exist."""
        rel = validate_checkout_path(checkout_path)
        return await asyncio.to_thread(self._erase_sync, rel)

    # ---- blocking parts, run in a worker thread ----

    def _create_sync(self, rel: PurePosixPath, plan: dict[str, FileKey]) -> CheckoutResult:
        # Touching first both proves every blob exists and refreshes its age so GC leaves it alone.
        missing = [
            f"{path} ({key.sha[:12]}…/{key.size})" for path, key in plan.items() if not self.store.touch(key)
        ]
        if missing:
            raise MissingFiles(missing)
        target = self._make_unique_dir(rel)
        try:
            mode = self._populate(target, plan)
        except BaseException:
            self._remove_tree(target)
            raise
        actual = target.relative_to(self.root).as_posix()
        _log.info("created checkout %s with %d files (%s)", actual, len(plan), mode)
        return CheckoutResult(actual, mode, len(plan))

    def _make_unique_dir(self, rel: PurePosixPath) -> Path:
        parent = self._make_dirs_inside_root(rel.parent)
        for attempt in range(_SUFFIX_TRIES + 1):
            suffix = "" if attempt == 0 else "-" + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(4))
            candidate = parent / f"{rel.name}{suffix}"
            try:
                candidate.mkdir()
            except FileExistsError:
                continue
            return candidate
        raise Conflict(f"checkout path {rel} already exists, also with {_SUFFIX_TRIES} random suffixes")

    def _make_dirs_inside_root(self, rel_dir: PurePosixPath) -> Path:
        """Create `root/rel_dir` step by step, refusing any existing step that resolves outside root."""
        current = self.root
        for part in rel_dir.parts:
            current = current / part
            if os.path.lexists(current):
                if not current.resolve().is_relative_to(self.root):
                    raise BadRequest(f"checkout path leads outside the jobs root via {current.name!r}")
                if not current.is_dir():
                    raise BadRequest(f"checkout path component {part!r} is not a directory")
                continue
            current.mkdir(exist_ok=True)
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
                os.makedirs(parent, exist_ok=True)
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
        target = self.root.joinpath(*rel.parts)
        if not target.parent.resolve().is_relative_to(self.root):
            raise BadRequest(f"checkout path {rel} leads outside the jobs root")
        if target.is_symlink() or not target.is_dir():
            return False
        self._remove_tree(target)
        _log.info("erased checkout %s", rel)
        return True

    def _remove_tree(self, target: Path) -> None:
        # rmtree unlinks symlinks without following them, so blobs are never touched here.
        shutil.rmtree(target, ignore_errors=True)
        parent = target.parent
        while parent != self.root and parent.is_relative_to(self.root):
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent


def _link(blob: str, relative_blob: str, dest: str, mode: LinkMode) -> None:
    if mode is LinkMode.SYMLINK:
        # Relative, so the checkout stays valid when the shared storage is mounted elsewhere.
        os.symlink(relative_blob, dest)
    elif mode is LinkMode.HARDLINK:
        os.link(blob, dest)
    else:
        shutil.copyfile(blob, dest)
