"""Finding job-type scripts on disk: the bundled ones and the user's `scripts/` folder.

Owns the rules for which files are job types:

- bundled scripts live in `app/manager/job_compilers/scripts/`; the user folder (the
  `scripts/` folder beside the Manager's config file) is searched too, and a user script
  replaces a bundled one of the same job type name;
- the job type name is the file stem with `_` replaced by `-`
  (`simple_blender_render.js` -> `simple-blender-render`);
- only `*.js` files of at least 8 bytes count; anything else is skipped.

`scan_scripts()` only lists and stats files, so it is cheap enough to run on every request;
`read_script()` reads one. Caching the evaluated job types by file stamp is the
compiler's business (`compiler.py`), so that edits are picked up without a restart.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

_log = logging.getLogger(__name__)

BUNDLED_SCRIPTS_DIR = Path(__file__).with_name("scripts")
_MIN_SCRIPT_SIZE = 8  # smaller files cannot hold a job type; editors leave such stubs around


@dataclass(frozen=True)
class ScriptFile:
    """One job-type script on disk, with the stat fields that tell whether it changed."""

    name: str  # job type name
    path: Path
    stamp: tuple[int, int, int]  # (mtime_ns, size, inode)
    bundled: bool


@dataclass(frozen=True)
class ScriptSource:
    """The text of a script as read at `stamp`."""

    file: ScriptFile
    text: str


def job_type_name(path: Path) -> str:
    """The job type name a script file provides."""
    return path.stem.replace("_", "-")


def _scan_dir(folder: Path, bundled: bool) -> dict[str, ScriptFile]:
    found: dict[str, ScriptFile] = {}
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return found
    except OSError as exc:
        _log.warning("cannot list job type scripts in %s: %s", folder, exc)
        return found
    for entry in entries:
        if not entry.name.endswith(".js"):
            continue
        try:
            if not entry.is_file():
                continue
            st = entry.stat()
        except OSError:  # dangling link or vanished meanwhile
            continue
        if st.st_size < _MIN_SCRIPT_SIZE:
            continue
        path = Path(entry.path)
        name = job_type_name(path)
        if name in found:
            _log.warning(
                "skipping job type script %s: %s already provides job type %r", path, found[name].path, name
            )
            continue
        found[name] = ScriptFile(name, path, (st.st_mtime_ns, st.st_size, st.st_ino), bundled)
    return found


def scan_scripts(user_dir: Path | None, bundled_dir: Path = BUNDLED_SCRIPTS_DIR) -> dict[str, ScriptFile]:
    """All job-type scripts by job type name; user scripts win over bundled ones."""
    scripts = _scan_dir(bundled_dir, bundled=True)
    if user_dir is not None:
        for name, script in _scan_dir(user_dir, bundled=False).items():
            if name in scripts:
                _log.debug("user script %s overrides bundled job type %r", script.path, name)
            scripts[name] = script
    return scripts


def read_script(script: ScriptFile) -> ScriptSource:
    """Read a script's text. Raises OSError or UnicodeDecodeError for unreadable files."""
    return ScriptSource(script, script.path.read_text(encoding="utf-8"))


def search_dirs(user_dir: Path | None, bundled_dir: Path = BUNDLED_SCRIPTS_DIR) -> list[str]:
    """Folders a script may `require()` from, in priority order: user folder first."""
    folders = [bundled_dir]
    if user_dir is not None and user_dir.is_dir():
        folders.insert(0, user_dir)
    return [str(folder) for folder in folders]
