"""`archive release`: `archives/<release>.tar.gz` with the store, the outputs and a manifest.

The archive holds `<release>/store/`, `<release>/out/`, `<release>/dist/` (the harvested frames) and
`<release>/manifest.json`: the jobs with their settings and frame counts, and every file with its
size and SHA-256. It refuses while a job of the release still runs, and never overwrites an
archive unless asked.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from app.farm.context import FINISHED, Farm, job_name, release_of
from app.farm.errors import Refused
from app.farm.frames import parse_frames

_log = logging.getLogger(__name__)

MANIFEST = "manifest.json"


async def archive_release(farm: Farm, release: str, overwrite: bool = False) -> dict[str, Any]:
    layout, con = farm.layout, farm.console
    folder = layout.existing_release(release)
    jobs = [j for j in await farm.jobs() if release_of(j) == release]
    running = [j for j in jobs if j.status not in FINISHED]
    if running:
        names = ", ".join(f"{job_name(j)} ({j.status})" for j in running)
        raise Refused(f"release {release} still has jobs on the farm: {names}; wait, or kill them first")
    target = layout.archive(release)
    if target.exists() and not overwrite:
        raise Refused(f"{target} exists; pass --overwrite to replace it")
    files = _files(folder, layout.dist(release))
    result: dict[str, Any] = {"release": release, "archive": str(target), "files": len(files),
                              "bytes": sum(p.stat().st_size for _, p in files), "dry_run": farm.dry_run}
    if farm.dry_run:
        con.say(f"would archive {len(files)} files ({result['bytes']} bytes) of {release} to {target}")
        return result
    manifest = {
        "release": release, "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "manager": farm.client.base_url, "settings": layout.release_settings(release),
        "jobs": [_job_entry(j, layout.out(release, job_name(j))) for j in jobs],
    }
    layout.ensure()
    await asyncio.to_thread(_write, target, release, files, manifest, con)
    con.say(f"archived {len(files)} files of {release} to {target}")
    return result


def _files(folder: Path, dist: Path) -> list[tuple[str, Path]]:
    """(name in the archive, file) for the store, the outputs and the harvested frames."""
    found: list[tuple[str, Path]] = []
    for part, base in (("store", folder / "store"), ("out", folder / "out"), ("dist", dist)):
        if base.is_dir():
            for path in sorted(p for p in base.rglob("*") if p.is_file() and not p.is_symlink()):
                found.append((f"{part}/{path.relative_to(base).as_posix()}", path))
    return found


def _job_entry(job: Any, out_dir: Path) -> dict[str, Any]:
    try:
        expected = len(parse_frames(str(job.settings.get("frames", ""))))
    except ValueError:
        expected = None
    ext = str(job.settings.get("image_file_extension") or ".png")
    rendered = len(list(out_dir.glob(f"*{ext}"))) if out_dir.is_dir() else 0
    return {"id": job.id, "name": job.name, "job": job_name(job), "status": str(job.status), "type": job.type,
            "created": job.created, "settings": job.settings, "metadata": job.metadata,
            "frames_expected": expected, "frames_in_out": rendered}


def _write(target: Path, release: str, files: list[tuple[str, Path]], manifest: dict[str, Any], con: Any) -> None:
    part = target.with_name(target.name + ".part")
    entries = []
    try:
        with tarfile.open(part, "w:gz") as tar:
            for name, path in con.progress(files, len(files), "archiving"):
                digest = hashlib.sha256()
                with open(path, "rb") as fh:
                    for block in iter(lambda: fh.read(1 << 20), b""):
                        digest.update(block)
                entries.append({"path": name, "size": path.stat().st_size, "sha256": digest.hexdigest()})
                tar.add(path, arcname=f"{release}/{name}", recursive=False)
            data = json.dumps({**manifest, "files": entries}, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(f"{release}/{MANIFEST}")
            info.size, info.mtime = len(data), int(datetime.now().timestamp())
            tar.addfile(info, io.BytesIO(data))
        os.replace(part, target)
    finally:
        part.unlink(missing_ok=True)
