"""Manager-local files, one folder per job.

The Manager keeps a few files of its own next to the database: task logs and
last-rendered thumbnails. They live under one storage root, laid out as
`<root>/job-<first 4 of job uuid>/<job uuid>/`, the same layout Flamenco uses,
so the `/job-files/...` URLs a Flamenco web client builds keep working. The
two-level split keeps any single directory from holding thousands of jobs.
Each worker's newest frame is kept in `<root>/workers/<worker uuid>/`.

This module owns that layout and its safety: every id that becomes part of a
path must parse as a UUID, and every path handed out is checked to be inside
the root. Nothing here is async; callers run the blocking parts off the loop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import uuid
from pathlib import Path, PurePosixPath

from app.api.errors import BadRequest

_log = logging.getLogger(__name__)

# The URL prefix under which the Manager serves the storage root statically.
JOB_FILES_URL_PREFIX = "/job-files"


class InvalidStorageId(BadRequest):
    """An id meant for a storage path is not a UUID (so it could escape the root)."""


_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def canonical_uuid(value: str, what: str = "id") -> str:
    """Return `value` as a lower-case, hyphenated UUID string, or raise `InvalidStorageId`.

    Accepting only UUIDs is the whole path-safety story: a UUID cannot contain
    `/`, `\\`, `..` or a drive letter, so a path built from one cannot leave its parent.
    """
    if not isinstance(value, str):
        raise InvalidStorageId(f"{what} must be a UUID string")
    if _CANONICAL_UUID.fullmatch(value):  # the usual case, without building a UUID object
        return value
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        raise InvalidStorageId(f"{what} is not a valid UUID: {value[:64]!r}") from None
    return str(parsed)


class LocalStorage:
    """The Manager's own file area, with one folder per job.

    Invariants: `root` is absolute; every path this class returns is inside it.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # Paths ------------------------------------------------------------------

    @staticmethod
    def job_relpath(job_id: str) -> PurePosixPath:
        """`job-xxxx/<job uuid>`, relative to the root; also the URL tail."""
        job_uuid = canonical_uuid(job_id, "job id")
        return PurePosixPath(f"job-{job_uuid[:4]}", job_uuid)

    def job_dir(self, job_id: str) -> Path:
        """The job's folder, `<root>/job-xxxx/<job uuid>/`. It may not exist yet."""
        path = self.root.joinpath(*self.job_relpath(job_id).parts)
        self._ensure_inside(path)
        return path

    def job_file(self, job_id: str, filename: str) -> Path:
        """A file directly inside the job's folder. `filename` must be a plain name."""
        _check_filename(filename)
        return self.job_dir(job_id) / filename

    def root_file(self, filename: str) -> Path:
        """A file directly inside the storage root (small Manager bookkeeping files)."""
        _check_filename(filename)
        return self.root / filename

    def worker_dir(self, worker_id: str) -> Path:
        """A worker's folder, `<root>/workers/<worker uuid>/` (its last frame). It may not exist yet."""
        path = self.root / "workers" / canonical_uuid(worker_id, "worker id")
        self._ensure_inside(path)
        return path

    def worker_url_base(self, worker_id: str) -> str:
        """URL path of the worker's folder as served by the Manager, without a trailing slash."""
        return f"{JOB_FILES_URL_PREFIX}/workers/{canonical_uuid(worker_id, 'worker id')}"

    def job_url_base(self, job_id: str) -> str:
        """URL path of the job's folder as served by the Manager, without a trailing slash."""
        return f"{JOB_FILES_URL_PREFIX}/{self.job_relpath(job_id)}"

    def job_file_url(self, job_id: str, filename: str) -> str:
        """URL path of a file in the job's folder, e.g. a task log."""
        _check_filename(filename)
        return f"{self.job_url_base(job_id)}/{filename}"

    # Blocking file operations (run these off the event loop) ----------------

    def ensure_job_dir(self, job_id: str) -> Path:
        """Create the job's folder if needed and return it. Blocking."""
        path = self.job_dir(job_id)
        path.mkdir(parents=True, exist_ok=True)
        return path

    def remove_job_dir(self, job_id: str) -> bool:
        """Remove the job's folder and everything in it. Blocking.

        Returns True when something was removed. The `job-xxxx` parent is removed
        too once it is empty, so deleted jobs leave no litter behind. From async
        code call it as `await asyncio.to_thread(storage.remove_job_dir, job_id)`.
        """
        path = self.job_dir(job_id)
        if not path.exists():
            return False
        _log.info("removing job storage: %s", path)
        shutil.rmtree(path)
        with contextlib.suppress(OSError):  # Not empty: other jobs share the same 4-character prefix.
            path.parent.rmdir()
        return True

    # Internals ----------------------------------------------------------------

    def _ensure_inside(self, path: Path) -> None:
        # Belt and braces: the UUID check already guarantees this, but a future
        # caller building paths differently must not be able to escape the root.
        # The check is lexical on purpose: it runs on the event loop for every
        # URL built, and symlinks an admin placed inside the root are theirs.
        if not Path(os.path.normpath(path)).is_relative_to(self.root):
            raise InvalidStorageId(f"path escapes the storage root: {path}")


def _check_filename(filename: str) -> None:
    """Reject anything but a plain file name (no separators, no `..`, no hidden names)."""
    bad = (
        not filename
        or filename.startswith(".")
        or "/" in filename
        or "\\" in filename
        or "\x00" in filename
        or ":" in filename
    )
    if bad:
        raise InvalidStorageId(f"not a plain file name: {filename[:64]!r}")
