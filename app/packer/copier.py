"""The copy-per-job approach: blend file and dependencies copied into a fresh folder on the storage.

`<shared storage>/jobs/<timestamp>-<job name>/<path relative to the project root>`. Each job gets
its own copy, so editing a texture while the job renders does not change later frames.
"""

from __future__ import annotations

import logging
import shutil
import threading
from datetime import datetime
from pathlib import Path

from app.packer.layout import PackError, PackFile, job_folder_name
from app.packer.progress import Phase, Progress, ProgressCallback, ignore_progress

_log = logging.getLogger(__name__)

JOBS_SUBDIR = "jobs"


def make_job_dir(storage_location: Path, job_name: str, now: datetime | None = None) -> Path:
    """Create and return a new, empty job folder; a suffix avoids clashing with one made this second."""
    parent = storage_location / JOBS_SUBDIR
    parent.mkdir(parents=True, exist_ok=True)
    base = job_folder_name(job_name, now)
    for attempt in range(100):
        candidate = parent / (base if attempt == 0 else f"{base}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            continue
        return candidate
    raise PackError(f"could not create a unique job folder for {base} in {parent}")


class CopyCancelled(PackError):
    """`stop` was set: the copy ended between two files and its job folder is gone."""


def copy_files(files: list[PackFile], job_dir: Path, on_progress: ProgressCallback = ignore_progress,
               stop: threading.Event | None = None) -> int:
    """Copy every file to `job_dir/<relpath>` (data and timestamps). Returns the bytes copied.

    Blocking: call it in a thread from async code. On failure, or when `stop` is set (checked
    between files), the job folder is removed, so a half-copied job is never left for a worker
    to find or for anyone to clean up.
    """
    total = sum(f.path.stat().st_size for f in files)
    progress = Progress(Phase.COPYING, bytes_total=total, files_total=len(files))
    try:
        for pack_file in files:
            if stop is not None and stop.is_set():
                raise CopyCancelled(f"copying to {job_dir} was cancelled")
            on_progress(progress.but(current_file=str(pack_file.relpath)))
            dest = job_dir.joinpath(*pack_file.relpath.parts)
            dest.parent.mkdir(parents=True, exist_ok=True)
            # copy2: shutil uses the kernel's fast copy (sendfile/copy_file_range) where it can.
            shutil.copy2(pack_file.path, dest)
            progress = progress.but(
                bytes_done=progress.bytes_done + dest.stat().st_size, files_done=progress.files_done + 1
            )
            on_progress(progress)
    except BaseException:
        shutil.rmtree(job_dir, ignore_errors=True)
        raise
    _log.info("copied %d files (%d bytes) to %s", len(files), progress.bytes_done, job_dir)
    return progress.bytes_done
