"""Packing a blend file for a job: the entry points used by the add-on, the release tool and the GUI.

`pack_job` (async) and `pack_job_sync` (for threads without an event loop, such as a Blender
operator's worker thread) take a `PackRequest`, pick the storage approach and return a
`PackResult` holding the blend file path the job should render and, for Shaman, the checkout id
to send as `storage.shaman_checkout_id`. Copied or uploaded, the blend file is the one
`rewrite.rewrite_absolute_paths` writes when it refers to packed files by absolute paths, so the
workers read the packed copies (`PackResult.rewritten` lists those paths).
"""

from __future__ import annotations

import asyncio
import logging
import platform as _platform
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from app.api.client import ManagerClient
from app.api.errors import ContractError, HttpError
from app.api.transport import Transport
from app.packer.copier import copy_files, make_job_dir
from app.packer.hashing import FileHash, HashCache, HashStats, hash_files
from app.packer.layout import (
    Approach,
    PackError,
    PackFile,
    SharedStorage,
    collect_files,
    decide_approach,
    safe_name,
)
from app.packer.progress import Phase, Progress, ProgressCallback, ignore_progress
from app.packer.rewrite import Rewrite, rewrite_absolute_paths
from app.packer.shaman_client import ShamanClient
from app.packer.uploader import ShamanUploader, file_specs

_log = logging.getLogger(__name__)


@dataclass(slots=True)
class PackRequest:
    """What to pack. `storage` skips asking the Manager; `project_root` defaults to the files' common parent."""

    manager_url: str
    blendfile: Path
    dependencies: list[Path] = field(default_factory=list)
    job_name: str = "job"
    project_root: Path | None = None
    cache_dir: Path | None = None  # hash cache location; None hashes everything every time
    storage: SharedStorage | None = None
    checkout_path: str | None = None  # default: the job name made path-safe
    platform: str = field(default_factory=lambda: _platform.system().lower())
    now: datetime | None = None  # for the copy folder's timestamp (tests)


@dataclass(slots=True)
class PackResult:
    approach: Approach
    blendfile: str  # what the job's `blendfile` setting should be
    checkout_id: str | None = None  # Shaman: the actual checkout path
    job_dir: Path | None = None  # copy: the job folder
    link_mode: str = ""  # Shaman: symlink/hardlink/copy when the Manager tells
    files_total: int = 0
    bytes_total: int = 0
    files_hashed: int = 0
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    bytes_copied: int = 0
    rewritten: list[Rewrite] = field(default_factory=list)  # absolute paths made relative in the packed blend
    storage_location: str = ""  # the Manager's shared storage, as this computer sees it


async def fetch_shared_storage(client: ManagerClient, platform: str) -> SharedStorage:
    try:
        location = await client.shared_storage("users", platform)
    except (HttpError, ContractError) as exc:
        raise PackError(f"the Manager did not tell its shared storage location: {exc}") from exc
    return SharedStorage(location.location, location.audience, location.platform, location.shaman_enabled)


async def pack_job(
    request: PackRequest,
    *,
    client: ManagerClient | None = None,
    on_progress: ProgressCallback = ignore_progress,
) -> PackResult:
    """Pack for one job. Uses `client` when given, else makes one for `request.manager_url`."""
    if client is None:
        # No overall time limit: uploads of big files take what they take; connecting does not.
        transport = Transport(request.manager_url, timeout_s=None, connect_timeout_s=30)
        async with ManagerClient(request.manager_url, transport=transport) as own:
            return await pack_job(request, client=own, on_progress=on_progress)
    storage = request.storage or await fetch_shared_storage(client, request.platform)
    blendfile = Path(request.blendfile)
    approach = decide_approach(blendfile, storage)
    _log.info("packing %s for job %r: %s", blendfile, request.job_name, approach)
    if approach is Approach.IN_PLACE:
        result = _in_place(blendfile, storage)
    elif approach is Approach.COPY:
        result = await _copy_per_job(request, storage, on_progress)
    else:
        result = await _via_shaman(request, client, on_progress)
    result.storage_location = storage.location
    on_progress(Progress(Phase.DONE, bytes_done=result.bytes_total, bytes_total=result.bytes_total))
    return result


def pack_job_sync(request: PackRequest, on_progress: ProgressCallback = ignore_progress) -> PackResult:
    """`pack_job` for plain threads (no running event loop): runs its own loop until done."""
    return asyncio.run(pack_job(request, on_progress=on_progress))


def _in_place(blendfile: Path, storage: SharedStorage) -> PackResult:
    # Spell the path from the storage location, as the Manager's path variables know that spelling.
    location = Path(storage.location)
    try:
        path = location / blendfile.resolve().relative_to(location.resolve())
    except ValueError:  # same file, but only case-insensitively equal prefixes: keep the user's path
        path = blendfile.absolute()
    return PackResult(Approach.IN_PLACE, str(path), files_total=1)


async def _copy_per_job(
    request: PackRequest, storage: SharedStorage, on_progress: ProgressCallback
) -> PackResult:
    root, files = await asyncio.to_thread(
        collect_files, request.blendfile, request.dependencies, request.project_root
    )
    with tempfile.TemporaryDirectory(prefix="tablao-pack-") as tmp:
        files, rewritten = await asyncio.to_thread(_rewritten_blend, files, root, Path(tmp))
        job_dir = await asyncio.to_thread(make_job_dir, Path(storage.location), request.job_name, request.now)
        copied = await _copy_cancellably(files, job_dir, on_progress)
    blend = job_dir.joinpath(*files[0].relpath.parts)
    return PackResult(
        Approach.COPY,
        str(blend),
        job_dir=job_dir,
        files_total=len(files),
        bytes_total=copied,
        bytes_copied=copied,
        rewritten=rewritten,
    )


async def _copy_cancellably(files: list[PackFile], job_dir: Path, on_progress: ProgressCallback) -> int:
    """`copy_files` in a thread; cancelling stops it after the file in hand and removes the folder.

    A thread cannot be interrupted, so a cancelled caller (Esc in the add-on, Cancel in the submit
    dialog) waits for the copy to stop and clean up: nothing is left on the shared storage.
    """
    stop = threading.Event()
    copying = asyncio.ensure_future(asyncio.to_thread(copy_files, files, job_dir, _threadsafe(on_progress), stop))
    try:
        return await asyncio.shield(copying)
    except asyncio.CancelledError:
        stop.set()
        await asyncio.wait([copying])
        if not copying.cancelled() and copying.exception() is None:
            shutil.rmtree(job_dir, ignore_errors=True)  # it had finished: the job will never exist
        raise


async def _via_shaman(
    request: PackRequest, client: ManagerClient, on_progress: ProgressCallback
) -> PackResult:
    root, files = await asyncio.to_thread(
        collect_files, request.blendfile, request.dependencies, request.project_root
    )
    with tempfile.TemporaryDirectory(prefix="tablao-pack-") as tmp:
        files, rewritten = await asyncio.to_thread(_rewritten_blend, files, root, Path(tmp))
        hashes, stats = await _hash_all(files, request.cache_dir, on_progress)
        specs = file_specs(files, hashes)
        uploader = ShamanUploader(ShamanClient(client), on_progress)
        upload_stats = await uploader.upload_missing(specs, files)
        checkout_path = request.checkout_path or safe_name(request.job_name)
        actual, link_mode = await uploader.checkout(specs, files, checkout_path)
    return PackResult(
        Approach.SHAMAN,
        f"{{jobs}}/{actual}/{files[0].relpath}",  # `{jobs}` is the Manager's checkout-root variable
        checkout_id=actual,
        link_mode=link_mode,
        files_total=len(files),
        bytes_total=sum(h.size for h in hashes.values()),
        files_hashed=stats.hashed_files,
        files_uploaded=upload_stats.files_uploaded,
        bytes_uploaded=upload_stats.bytes_uploaded,
        rewritten=rewritten,
    )


def _rewritten_blend(files: list[PackFile], root: Path, tmp: Path) -> tuple[list[PackFile], list[Rewrite]]:
    """`files` with the blend file (first) swapped for its rewritten copy in `tmp` when it has absolute
    paths to packed files. A file BAT cannot read is packed as it is (its absolute paths stay)."""
    blend = files[0]
    dest = tmp / blend.path.name
    try:
        rewritten = rewrite_absolute_paths(blend.path, root, dest)
    except Exception as exc:  # noqa: BLE001 - e.g. a compressed file BAT cannot open: pack it unchanged
        _log.warning("could not rewrite the paths in %s (%s); packing it unchanged", blend.path, exc)
        return files, []
    if not rewritten:
        return files, []
    return [PackFile(dest, blend.relpath), *files[1:]], rewritten


async def _hash_all(
    files: list[PackFile], cache_dir: Path | None, on_progress: ProgressCallback
) -> tuple[dict[Path, FileHash], HashStats]:
    report = _threadsafe(on_progress)
    stats = HashStats()

    def run() -> dict[Path, FileHash]:
        progress = Progress(
            Phase.HASHING, bytes_total=sum(f.path.stat().st_size for f in files), files_total=len(files)
        )

        def on_file(path: Path, digest: FileHash) -> None:
            nonlocal progress
            progress = progress.but(
                bytes_done=progress.bytes_done + digest.size,
                files_done=progress.files_done + 1,
                current_file=path.name,
            )
            report(progress)

        cache = HashCache(cache_dir)  # SQLite objects stay in the thread that made them
        try:
            return hash_files([f.path for f in files], cache, on_file=on_file, stats=stats)
        finally:
            cache.close()

    return await asyncio.to_thread(run), stats


def _threadsafe(callback: ProgressCallback) -> ProgressCallback:
    """Wrap a callback so calls from worker threads are delivered on the calling event loop's thread."""
    loop = asyncio.get_running_loop()

    def deliver(progress: Progress) -> None:
        loop.call_soon_threadsafe(callback, progress)

    return deliver
