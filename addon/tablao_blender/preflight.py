"""The pre-flight report: what submitting the open file will pack, before anything is sent.

Built from `bpy.data` on Blender's main thread (fast: no file is read but stat'ed), optionally
followed by `shaman_known` (hashes the files and asks the Manager which it already has). Lists
missing files, absolute paths outside the project, linked libraries, caches and image sequences,
and the total size. Flamenco only prints missing assets to the console; this goes in the panel.

With the farm's submit policy (`apply_policy`), it also says which of the file's auto-run scripts
and Python drivers will not run on this farm and why, where the output goes, and whether the Manager
will take that folder. The scene's Python is read by `_scene_policy.py`, the copy of what
`tablao submit` uses, so both say the same.
"""

from __future__ import annotations

import glob
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import _scene_policy

_log = logging.getLogger(__name__)


@dataclass
class Asset:
    kind: str  # image, sequence, library, sound, movie, cache, volume, font
    name: str
    path: str  # absolute
    exists: bool
    size: int = 0
    files: int = 1
    absolute_outside: bool = False  # an absolute path in the file, outside the project folder


@dataclass
class Report:
    blendfile: str
    project: str
    assets: list[Asset] = field(default_factory=list)
    total_bytes: int = 0
    shaman_known_bytes: int | None = None  # None: not asked (no Shaman, or not checked yet)
    scripts: dict[str, Any] = field(default_factory=dict)  # _scene_policy.scan_scripts()
    warnings: list[str] = field(default_factory=list)  # from the farm's submit policy, in words
    output: str = ""  # where the job writes; "" when not known
    needs: str = ""  # what the scene needs of a worker, in words (`_scene_needs.needs_words`)

    @property
    def missing(self) -> list[Asset]:
        return [a for a in self.assets if not a.exists]

    @property
    def outside(self) -> list[Asset]:
        return [a for a in self.assets if a.absolute_outside]

    @property
    def libraries(self) -> list[Asset]:
        return [a for a in self.assets if a.kind == "library"]

    @property
    def sequences(self) -> list[Asset]:
        return [a for a in self.assets if a.kind in ("sequence", "cache")]

    def to_json(self) -> dict[str, Any]:
        return {
            "blendfile": self.blendfile,
            "project": self.project,
            "missing": [a.path for a in self.missing],
            "outside": [a.path for a in self.outside],
            "libraries": [a.path for a in self.libraries],
            "sequences": [{"path": a.path, "files": a.files} for a in self.sequences],
            "assets": len(self.assets),
            "total_bytes": self.total_bytes,
            "shaman_known_bytes": self.shaman_known_bytes,
            "scripts": self.scripts,
            "warnings": self.warnings,
            "output": self.output,
            "needs": self.needs,
        }

    def lines(self) -> list[tuple[str, str]]:
        """(icon, text) rows for the panel, the most pressing first."""
        rows: list[tuple[str, str]] = []
        for a in self.missing:
            rows.append(("ERROR", f"Missing {a.kind}: {a.path}"))
        for text in self.warnings:
            icon = "FILE_SCRIPT" if "will not run" in text else "INFO"
            rows.append(("ERROR" if "will be refused" in text else icon, text))
        if self.output:
            rows.append(("OUTPUT", f"Output: {self.output}"))
        if self.needs:
            rows.append(("INFO", f"Needs: {self.needs}"))
        for a in self.outside:
            rows.append(("INFO", f"Absolute path outside the project: {a.path}"))
        for a in self.libraries:
            rows.append(("LINK_BLEND", f"Linked library: {Path(a.path).name}"))
        for a in self.sequences:
            rows.append(("SEQUENCE", f"{a.kind.title()}: {Path(a.path).name} ({a.files} files)"))
        size = f"{len(self.assets) + 1} files, {human_size(self.total_bytes)}"
        if self.shaman_known_bytes is not None:
            size += f"; the Manager already has {human_size(self.shaman_known_bytes)}"
        rows.append(("FILE", size))
        return rows


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def _size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


_FRAME_DIGITS = re.compile(r"\d+(?=\.[^.]*$)")


def _sequence_files(path: str) -> list[str]:
    """The files of an image sequence whose one frame is `path` (digits before the extension)."""
    head, tail = os.path.split(path)
    pattern = _FRAME_DIGITS.sub(lambda m: "[0-9]" * len(m.group(0)), glob.escape(tail), count=1)
    return sorted(glob.glob(os.path.join(glob.escape(head), pattern))) or (
        [path] if os.path.exists(path) else []
    )


def build_report(project_root: str = "") -> Report:
    """The report for the open blend file (which must have been saved once)."""
    import bpy

    blendfile = bpy.data.filepath
    project = os.path.abspath(project_root or os.path.dirname(blendfile))
    report = Report(blendfile, project)
    for kind, name, raw, library in _referenced_files(bpy.data):
        if raw:
            report.assets.append(_asset(kind, name, os.path.normpath(bpy.path.abspath(raw, library=library)),
                                        raw, project))
    report.total_bytes = _size(blendfile) + sum(a.size for a in report.assets)
    report.scripts = _scene_policy.scan_scripts()
    return report


def _asset(kind: str, name: str, path: str, raw: str, project: str) -> Asset:
    """One referenced file (`raw` as the blend file names it, `path` absolute), sized on disk."""
    outside = not raw.startswith("//") and not _under(path, project)
    asset = Asset(kind, name, path, os.path.exists(path), absolute_outside=outside)
    if kind in ("sequence", "cache") and os.path.isdir(path):
        files = [os.path.join(path, f) for f in os.listdir(path)]
    elif kind == "sequence":
        files = _sequence_files(path)
    else:
        files = [path] if asset.exists else []
    asset.exists = asset.exists or bool(files)
    asset.files = max(1, len(files))
    asset.size = sum(_size(f) for f in files)
    return asset


def _referenced_files(data: Any) -> Iterator[tuple[str, str, str, Any]]:
    """(kind, name, path as written, library) of every file the blend data reads and does not pack."""
    for img in data.images:
        if img.packed_file is not None or img.source not in {"FILE", "SEQUENCE", "TILED", "MOVIE"}:
            continue
        kind = {"SEQUENCE": "sequence", "MOVIE": "movie"}.get(img.source, "image")
        yield kind, img.name, img.filepath, img.library
    for lib in data.libraries:
        yield "library", lib.name, lib.filepath, None
    for snd in data.sounds:
        if snd.packed_file is None:
            yield "sound", snd.name, snd.filepath, snd.library
    for clip in data.movieclips:
        yield "movie", clip.name, clip.filepath, clip.library
    for cache in data.cache_files:
        yield "cache", cache.name, cache.filepath, cache.library
    for vol in getattr(data, "volumes", []):
        if vol.packed_file is None:
            yield "volume", vol.name, vol.filepath, vol.library
    for font in data.fonts:
        if font.packed_file is None and font.filepath != "<builtin>":
            yield "font", font.name, font.filepath, font.library
    for ob in data.objects:  # simulation caches baked to disk
        for mod in ob.modifiers:
            settings = getattr(mod, "domain_settings", None)
            if settings is not None and getattr(settings, "cache_directory", ""):
                yield "cache", f"{ob.name}/{mod.name}", settings.cache_directory, ob.library


def scene_output_folder(scene: Any) -> str:
    """The folder the scene renders to, absolute ("" when it names none)."""
    import bpy

    output = bpy.path.abspath(scene.render.filepath)
    folder = output if output.endswith(("/", "\\")) or not output else os.path.dirname(output)
    return os.path.normpath(folder) if folder else ""


def output_defaults(policy: Any, scene: Any) -> tuple[dict[str, str], dict[str, str]]:
    """(defaults, moved) for the output folder setting an artist leaves empty.

    The default is the scene's own folder when the farm lets jobs write there, else the farm's folder
    (`<first output root>/renders`), and then `moved` names the scene's folder. Without a policy (a
    Flamenco Manager) there is no default, as in Flamenco's add-on."""
    if policy is None:
        return {}, {}
    key, folder = OUTPUT_ROOT, scene_output_folder(scene)
    if _scene_policy.inside(folder, policy.output_roots, policy.output_denied):
        return {key: folder}, {}
    farm = _scene_policy.farm_folder(policy.output_roots, policy.output_denied)
    return ({key: farm}, {key: folder}) if farm else ({}, {})


#: The setting naming the folder a job writes under (what Flamenco's job types call it).
OUTPUT_ROOT = "render_output_root"


def apply_policy(report: Report, policy: Any, settings: dict[str, Any], moved: dict[str, str]) -> None:
    """Fill the report's warnings and output from the farm's policy and the settings to be sent."""
    report.warnings, report.output = [], ""
    if policy is None:
        return
    if not policy.blend_scripts_run:
        words = _scene_policy.scripts_warning(report.scripts, policy.blend_scripts_reason)
        if words:
            report.warnings.append(words)
    for key, scene_folder in moved.items():
        if settings.get(key):
            report.warnings.append(_scene_policy.moved_warning(key, settings[key], scene_folder,
                                                               policy.output_roots))
    for key in (OUTPUT_ROOT, "render_output_path"):
        value = settings.get(key)
        if key in moved or not isinstance(value, str) or not value:
            continue
        why = _scene_policy.refusal(value, policy.output_roots, policy.output_denied)
        if why is not None:
            report.warnings.append(_scene_policy.refused_warning(key, value, why))
            break
    report.output = str(settings.get("render_output_path") or settings.get(OUTPUT_ROOT) or "")


def _under(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([os.path.abspath(path), folder]) == folder
    except ValueError:  # other drive
        return False


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def shaman_known(report: Report, manager: Any) -> int:
    """How many bytes of the report's files the Manager's Shaman store already has (hashes them all)."""
    paths = [report.blendfile] + [a.path for a in report.assets if a.exists and os.path.isfile(a.path)]
    specs = {}
    for p in dict.fromkeys(paths):
        specs[p] = {"sha": sha256_file(Path(p)), "size": _size(p)}
    missing = manager.shaman_requirements(list(specs.values()))
    lacking = {(m.get("sha"), m.get("size")) for m in missing}
    known = sum(s["size"] for s in specs.values() if (s["sha"], s["size"]) not in lacking)
    report.shaman_known_bytes = known
    return known
