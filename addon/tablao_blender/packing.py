"""Packing the blend file for a job with Blender Asset Tracer, then copying or uploading through Shaman.

Runs on a worker thread (never touches `bpy`): reports `Progress` through a callback and checks a
cancel event between steps and during transfers. The storage approach follows the Manager's
shared-storage answer (`Manager.shared_storage`, comms.py): the blend file on the shared storage is
rendered in place; else BAT packs it into a per-job folder on the shared storage, or into a temporary folder whose files
are uploaded to Shaman (only those the Manager lacks) and checked out for the job.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .preflight import sha256_file

_log = logging.getLogger(__name__)

IN_PLACE, COPY, SHAMAN = "in-place", "copy", "shaman"
JOBS_SUBDIR = "jobs"  # the per-job folders on the shared storage, as app/packer makes them
WHEELS = Path(__file__).parent / "wheels"


class Cancelled(Exception):
    """The artist cancelled; nothing was submitted and what was written for the job is removed."""


class PackFailed(Exception):
    """Packing or uploading failed; the message says which file and what to do."""


@dataclass
class Progress:
    phase: str  # checking, packing, hashing, uploading, submitting, done
    fraction: float = 0.0
    text: str = ""


ProgressCallback = Callable[[Progress], None]


@dataclass
class PackOutcome:
    approach: str
    blendfile: str  # the job's `blendfile` setting
    checkout_id: str | None = None
    job_dir: str | None = None
    files_total: int = 0
    bytes_total: int = 0
    files_uploaded: int = 0
    bytes_uploaded: int = 0
    missing: list[str] = field(default_factory=list)


def ensure_bat() -> Any:
    """Import BAT's packer. An extension gets the wheel installed by Blender; a legacy add-on puts the
    bundled wheel (pure Python, importable as a zip) on sys.path, as Flamenco's add-on does."""
    try:
        import blender_asset_tracer.pack  # noqa: F401
    except ImportError:
        for wheel in sorted(WHEELS.glob("blender_asset_tracer-*.whl")):
            if str(wheel) not in sys.path:
                sys.path.append(str(wheel))
        import blender_asset_tracer.pack  # noqa: F401
    return blender_asset_tracer.pack


def decide_approach(blendfile: str, location: str, shaman_enabled: bool) -> str:
    if location and _under(os.path.realpath(blendfile), os.path.realpath(location)):
        return IN_PLACE
    return SHAMAN if shaman_enabled else COPY


def _under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:
        return False


_UNSAFE = re.compile(r"[^A-Za-z0-9._ -]+")


def safe_name(name: str, fallback: str = "job") -> str:
    cleaned = _UNSAFE.sub("_", name).strip(" ._")[:64].strip(" ._")
    return cleaned or fallback


class Packer:
    """One packing run; `cancel` (a threading.Event) may be set from another thread at any time."""

    def __init__(
        self,
        manager: Any,
        blendfile: str,
        project: str,
        job_name: str,
        *,
        on_progress: ProgressCallback,
        cancel: threading.Event,
        allow_missing: bool = False,
    ) -> None:
        self.manager = manager
        self.blendfile = os.path.abspath(blendfile)
        self.project = os.path.abspath(project or os.path.dirname(self.blendfile))
        self.job_name = job_name
        self.on_progress = on_progress
        self.cancel = cancel
        self.allow_missing = allow_missing

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise Cancelled("submission cancelled; nothing was submitted")

    def pack(self, location: str, shaman_enabled: bool) -> PackOutcome:
        approach = decide_approach(self.blendfile, location, shaman_enabled)
        _log.info("packing %s: %s", self.blendfile, approach)
        if approach == IN_PLACE:
            return PackOutcome(
                IN_PLACE, self.blendfile, files_total=1, bytes_total=os.path.getsize(self.blendfile)
            )
        if approach == COPY:
            return self._copy(location)
        return self._shaman()

    # ------------------------------------------------------------ BAT
    def _bat(self, target: Path) -> tuple[Path, list[str]]:
        bat = ensure_bat()
        from blender_asset_tracer.pack import progress as bat_progress

        outer = self

        class Callback(bat_progress.Callback):
            def trace_asset(self, filename: Path) -> None:
                outer.on_progress(Progress("packing", 0.0, f"Investigating {Path(filename).name}"))
                if outer.cancel.is_set():
                    packer.abort("cancelled")

            def transfer_file(self, src: Path, dst: Path) -> None:
                outer.on_progress(Progress("packing", 0.0, f"Copying {Path(src).name}"))

            def transfer_progress(self, total_bytes: int, transferred_bytes: int) -> None:
                outer.on_progress(
                    Progress(
                        "packing",
                        transferred_bytes / max(1, total_bytes),
                        f"Packing {transferred_bytes}/{total_bytes} bytes",
                    )
                )
                if outer.cancel.is_set():
                    packer.abort("cancelled")

        packer = bat.Packer(Path(self.blendfile), Path(self.project), str(target))
        packer.progress_cb = Callback()
        try:
            with packer:
                packer.strategise()
                missing = sorted(str(p) for p in packer.missing_files)
                if missing and not self.allow_missing:
                    raise PackFailed(f"{len(missing)} missing file(s): " + ", ".join(missing[:5]))
                self.check_cancel()
                packer.execute()
        except bat.Aborted:
            raise Cancelled("submission cancelled; nothing was submitted") from None
        finally:
            # BAT keeps every blend file it read open in a cache for the whole Blender session. Left
            # there, the next submission traced the .blend as it was read the first time, not as saved
            # since: a texture added in between was not packed. (And the cache held copies in BAT's
            # temporary folder, deleted when the pack closed.) Each pack reads the files anew.
            from blender_asset_tracer import blendfile as bat_blendfile

            bat_blendfile.close_all_cached()
        self.check_cancel()
        return Path(packer.output_path), missing

    def _copy(self, location: str) -> PackOutcome:
        parent = Path(location) / JOBS_SUBDIR
        parent.mkdir(parents=True, exist_ok=True)
        job_dir = (
            parent / f"{time.strftime('%Y-%m-%dT%H%M%S')}-{safe_name(self.job_name)}-{secrets.token_hex(2)}"
        )
        job_dir.mkdir()
        try:
            blend, missing = self._bat(job_dir)
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        files = [p for p in job_dir.rglob("*") if p.is_file()]
        return PackOutcome(
            COPY,
            str(blend),
            job_dir=str(job_dir),
            files_total=len(files),
            bytes_total=sum(p.stat().st_size for p in files),
            missing=missing,
        )

    def _shaman(self) -> PackOutcome:
        tmp = Path(tempfile.mkdtemp(prefix="tablao-pack-"))
        try:
            blend, missing = self._bat(tmp)
            return self._upload(tmp, blend, missing)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)

    def _upload(self, root: Path, blend: Path, missing: list[str]) -> PackOutcome:
        files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "pack-info.txt")
        total = sum(p.stat().st_size for p in files)
        specs: list[dict[str, Any]] = []
        done = 0
        for path in files:
            self.check_cancel()
            size = path.stat().st_size
            specs.append({"sha": sha256_file(path), "size": size, "path": path.relative_to(root).as_posix()})
            done += size
            self.on_progress(Progress("hashing", done / max(1, total), f"Hashing {path.name}"))
        lacking = {(m.get("sha"), m.get("size")) for m in self.manager.shaman_requirements(specs)}
        to_send = [s for s in specs if (s["sha"], s["size"]) in lacking]
        send_total = sum(s["size"] for s in to_send)
        sent = uploaded = 0
        seen: set[tuple[str, int]] = set()
        for spec in to_send:
            self.check_cancel()
            key = (spec["sha"], spec["size"])
            if key in seen:
                continue
            seen.add(key)
            self.on_progress(Progress("uploading", sent / max(1, send_total), f"Uploading {spec['path']}"))
            try:
                self.manager.shaman_upload(spec["sha"], spec["size"], root / spec["path"], spec["path"])
            except Exception as exc:
                raise PackFailed(
                    f"uploading {spec['path']} failed ({exc}); submitting again sends only "
                    f"the files the Manager still lacks"
                ) from exc
            sent += spec["size"]
            uploaded += 1
        self.check_cancel()
        checkout = f"{safe_name(self.job_name)}-{secrets.token_hex(3)}"
        actual = self.manager.shaman_checkout(specs, checkout)
        rel = blend.relative_to(root).as_posix()
        return PackOutcome(
            SHAMAN,
            f"{{jobs}}/{actual}/{rel}",
            checkout_id=actual,
            files_total=len(files),
            bytes_total=total,
            files_uploaded=uploaded,
            bytes_uploaded=sent,
            missing=missing,
        )
