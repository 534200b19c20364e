"""The open scene against the farm's submit policy: its Python, and where its output may go.

Runs INSIDE Blender, on the submitter's computer: in the probe `tablao submit` and the desktop
dialog start (`blender_probe.py` loads this file by its path), and in the Blender add-on, which
ships a copy (`addon/build.py` vendors it as `_scene_policy.py`). So: the standard library only,
`bpy` imported inside the functions that need it, no `app` imports.

- `scan_scripts()` finds the Python a .blend file carries: text blocks registered to run when the
  file loads (`Text.use_module`), and drivers of type SCRIPTED whose expression is not a "simple
  expression" (Blender evaluates simple ones, like `frame * 2`, without Python, so they work on a
  farm that keeps scripts off). Drivers are looked for on every ID with animation data, and on the
  node trees embedded in materials, worlds, scenes, lights, textures and line styles.
- `scripts_warning()` says, in words for the artist, what will not run.
- `inside()` and `farm_folder()` decide whether a folder lies under the farm's output roots, and
  which folder on the shared storage to use instead (paths as this computer spells them);
  `moved_warning()` and `refused_warning()` say so.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Iterator
from typing import Any

#: Names listed per kind; the rest is a count.
LISTED = 5
#: The folder under the first output root that renders go to when the scene's own folder may not.
FARM_FOLDER = "renders"


def _label(item: Any) -> str:
    return f"{type(item).__name__} “{item.name}”"


def _ids() -> Iterator[tuple[Any, str]]:
    """Every ID in bpy.data and the node trees embedded in them (each once), with a name for the artist."""
    import bpy

    seen = set()
    for prop in bpy.data.bl_rna.properties:
        if prop.type != "COLLECTION":
            continue
        for item in getattr(bpy.data, prop.identifier, ()):
            if not isinstance(item, bpy.types.ID) or item.as_pointer() in seen:
                continue
            seen.add(item.as_pointer())
            user = getattr(item, "user", None) if isinstance(item, bpy.types.Key) else None
            yield item, (_label(user) + " shape keys") if user is not None else _label(item)
            tree = getattr(item, "node_tree", None)
            if isinstance(tree, bpy.types.NodeTree) and tree.as_pointer() not in seen:
                seen.add(tree.as_pointer())
                yield tree, _label(item) + " nodes"


def scan_scripts() -> dict[str, dict[str, Any]]:
    """{"auto_run": {"count", "names"}, "drivers": {"count", "names"}}: the Python in the open file."""
    import bpy

    auto_run = [t.name for t in bpy.data.texts if t.use_module]
    drivers = []
    for owner, label in _ids():
        anim = getattr(owner, "animation_data", None)
        if anim is None:
            continue
        for fcurve in anim.drivers:
            driver = fcurve.driver
            if driver.type == "SCRIPTED" and driver.expression.strip() and not driver.is_simple_expression:
                index = f"[{fcurve.array_index}]" if fcurve.array_index else ""
                drivers.append(f"{label}: {fcurve.data_path}{index}")
    return {"auto_run": {"count": len(auto_run), "names": auto_run[:LISTED]},
            "drivers": {"count": len(drivers), "names": drivers[:LISTED]}}


def _listed(kind: dict[str, Any]) -> str:
    names = ", ".join(kind.get("names") or [])
    more = kind.get("count", 0) - len(kind.get("names") or [])
    return names + (f" and {more} more" if more > 0 else "")


def scripts_warning(scan: dict[str, Any], reason: str) -> str:
    """One sentence naming the scripts and drivers that will not run, and why; "" when there are none."""
    parts = []
    auto_run, drivers = scan.get("auto_run") or {}, scan.get("drivers") or {}
    if auto_run.get("count"):
        parts.append(f"{auto_run['count']} script(s) that run when the file opens ({_listed(auto_run)})")
    if drivers.get("count"):
        parts.append(f"{drivers['count']} Python driver(s) ({_listed(drivers)})")
    if not parts:
        return ""
    return f"The scene has {' and '.join(parts)}; they will not run on the farm: {reason}"


def _key(path: str) -> str:
    path = os.path.normpath(os.path.abspath(path))
    # Windows and macOS file systems ignore case.
    return path.lower() if sys.platform in ("win32", "darwin") else path


def _under(path: str, root: str) -> bool:
    path, root = _key(path), _key(root)
    try:
        return os.path.commonpath([path, root]) == root
    except ValueError:  # another drive
        return False


def inside(path: str, roots: Iterable[str], denied: Iterable[str] = ()) -> bool:
    """Is `path` (absolute, this computer's spelling) under one of `roots` and under none of `denied`?"""
    if not path or not os.path.isabs(path):
        return False
    return any(_under(path, r) for r in roots) and not any(_under(path, d) for d in denied)


def farm_folder(roots: list[str], denied: Iterable[str] = ()) -> str:
    """Where output goes when the scene's own folder may not: `<first root>/renders`; "" without roots."""
    for root in roots:
        folder = os.path.join(root, FARM_FOLDER)
        if inside(folder, roots, denied):
            return folder
    return ""


def moved_warning(key: str, where: str, scene_folder: str, roots: list[str]) -> str:
    """The output moved from the scene's folder (one the farm refuses) to the farm's folder `where`."""
    said = f"the scene renders to {scene_folder}" if scene_folder else "the scene names no output folder"
    return (f"Output goes to {where}: {said}, which this farm does not let jobs write to "
            f"(set {key} to choose another folder under {', '.join(roots)})")


def outside_words(roots: list[str]) -> str:
    allowed = ", ".join(roots) or "none: the Manager has no shared storage set up yet"
    return f"it is outside the folders this farm lets jobs write to ({allowed})"


def refused_warning(key: str, value: str, why: str) -> str:
    """The artist's own output folder, which the Manager will refuse for `why`."""
    return f"The output folder {value} ({key}) will be refused by the Manager: {why}"


def refusal(path: str, roots: list[str], denied: list[str]) -> str | None:
    """Why the Manager will refuse output at `path` (this computer's spelling); None when it may not.

    A path that starts with a variable (`{render}/...`) is the Manager's to expand: not judged here."""
    known = path.split("{", 1)[0]
    if not known or not os.path.isabs(known):
        return None
    for folder in denied:
        if _under(known, folder):
            return f"it is inside {folder}, which jobs may not write to"
    return None if any(_under(known, r) for r in roots) else outside_words(roots)
