"""The packed blend file's paths: absolute references to packed files made `//`-relative, with BAT.

A packed job folder (copy per job, or a Shaman checkout) keeps every file at its path relative to
the project root (`layout.collect_files`), so a file's `//`-relative path from the blend file is the
same here and in the packed copy. A reference by an absolute path is not: the worker would read
the original location, which it may not see, instead of the packed copy. `rewrite_absolute_paths`
writes a copy of the blend file in which each absolute path to a file under the root is replaced
by its `//`-relative path, using Blender Asset Tracer's block editing (the same rewriting BAT's
packer, and so the add-on, does). Only the blend file's own blocks are changed; linked libraries
are packed as they are.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Rewrite:
    """One reference changed: the path as the file had it, what the packed copy has instead, and the
    file (for a sequence: the folder) it names."""

    before: str
    after: str
    target: Path


def rewrite_absolute_paths(blendfile: Path, root: Path, dest: Path) -> list[Rewrite]:
    """Write `dest` (a copy of `blendfile` with absolute paths under `root` made relative); returns what
    changed. Writes nothing and returns [] when the file has no such path."""
    from blender_asset_tracer import blendfile as bat_blendfile
    from blender_asset_tracer import bpathlib, trace

    blendfile, root = Path(blendfile).resolve(), Path(root).resolve()
    todo = []
    try:
        for usage in trace.deps(blendfile):
            if Path(usage.block.bfile.filepath).resolve() != blendfile or not usage.asset_path.is_absolute():
                continue  # a library's own reference (packed as it is), or already relative
            target = Path(os.path.normpath(usage.abspath))
            if usage.path_full_field is None:  # a sequence: only its folder is stored in the block
                target = target.parent
            if target.is_relative_to(root):
                todo.append((usage, target))
        if not todo:
            return []
        bfile = bat_blendfile.open_cached(blendfile, assert_cached=True)
        bfile.copy_and_rebind(Path(dest), mode="rb+")
        done = []
        try:
            for usage, target in todo:
                block = bfile.dereference_pointer(usage.block.addr_old)
                relative = bpathlib.BlendPath.mkrelative(target, blendfile)
                field = usage.path_full_field or usage.path_dir_field
                # The trace found this usage in this very file's block, through one of the two fields.
                assert block is not None and field is not None
                block.set(field.name.name_only, relative)
                done.append(Rewrite(bytes(usage.asset_path).decode("utf-8", "replace"),
                                    bytes(relative).decode("utf-8", "replace"), target))
        finally:
            bfile.close()
    finally:
        bat_blendfile.close_all_cached()
    for item in done:
        _log.info("packed %s refers to %s as %s", blendfile.name, item.before, item.after)
    return done
