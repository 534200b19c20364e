"""The newest frame each worker rendered, kept on the Manager's disk so it outlives a restart.

When the thumbnails of a worker's upload are written in its job's folder (`last_rendered.py`),
they are also linked into `<storage>/workers/<worker uuid>/` (hard links: no copy, and the job's
next frame, written to a new file and renamed over the old, leaves the worker's picture as it was;
a copy where the file system cannot link), with `frame.json` naming the job and the task. The job's
pictures show the job's newest frame, whoever rendered it; these show the worker's own, also after
its job was deleted. Blocking: called from the thumbnail writer's thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any

from app.api.errors import ApiError
from app.api.workers import WorkerLastFrame
from app.common.clock import to_rfc3339
from app.manager.jobs.local_storage import LocalStorage, canonical_uuid
from app.manager.pictures.thumbnails import THUMBNAILS

_log = logging.getLogger(__name__)

NOTE = "frame.json"
SUFFIXES: tuple[str, ...] = tuple(name for name, _ in THUMBNAILS)


class WorkerFrames:
    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage

    def keep(self, worker_id: str, job_id: str, task_id: str | None) -> None:
        """The job's pictures just written are the worker's newest frame. Blocking; never raises."""
        try:
            folder = self.storage.worker_dir(worker_id)
            folder.mkdir(parents=True, exist_ok=True)
            # Smallest first, main picture last: `info` looks for the main one, so when it exists all do.
            for name in reversed(SUFFIXES):
                _link_or_copy(self.storage.job_file(job_id, name), folder / name)
            note = {"job_id": canonical_uuid(job_id, "job id"), "task_id": task_id}
            _write_atomically(folder / NOTE, json.dumps(note).encode())
        except (OSError, ApiError) as exc:
            _log.warning("cannot keep the last frame of worker %s: %s", worker_id, exc)

    def info(self, worker_id: str) -> dict[str, Any] | None:
        """The worker's newest frame as the wire's `WorkerLastFrame`, or None when it rendered none."""
        folder = self.storage.worker_dir(worker_id)
        try:
            rendered = (folder / SUFFIXES[0]).stat().st_mtime
        except OSError:
            return None
        note: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads((folder / NOTE).read_text("utf-8"))
            note = loaded if isinstance(loaded, dict) else {}
        return WorkerLastFrame(
            base=self.storage.worker_url_base(worker_id), suffixes=list(SUFFIXES),
            rendered_at=to_rfc3339(dt.datetime.fromtimestamp(rendered, dt.UTC)) or "",
            job_id=_text(note.get("job_id")), task_id=_text(note.get("task_id"))).to_json()


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _link_or_copy(source: Path, target: Path) -> None:
    temp = target.with_name(target.name + ".tmp")
    temp.unlink(missing_ok=True)
    try:
        os.link(source, temp)
    except OSError:
        shutil.copyfile(source, temp)
    os.replace(temp, target)


def _write_atomically(path: Path, data: bytes) -> None:
    temp = path.with_name(path.name + ".tmp")
    temp.write_bytes(data)
    os.replace(temp, path)
