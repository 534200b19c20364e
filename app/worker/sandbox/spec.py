"""What one Blender or FFmpeg command line needs from the filesystem: the sandbox spec.

A spec lists wishes, taken from the command line as the job wrote it: files and folders to read,
folders to write, the program itself. Whether a wish is granted, and how, is `policy`'s call: most
paths are readable anyway (the whole filesystem is, read-only), only those in hidden folders
(home folders, `/tmp`) need binding back, and some may not be.

Blender: the blend file (its folder, the folder behind a symbolic link, and for a Shaman checkout
the file store its links point into), `--python` script files, and the folder of every
`--render-output`/`-o` pattern (`//` is relative to the blend file, as in Blender). A command
without `--render-output` writes where the scene says, which inside the sandbox is only its
scratch `/tmp`, emptied after the run: the spec carries a note saying so for the task log. Without
`--factory-startup` Blender reads its user settings (add-ons, the GPU to render on) from the home
folder: the spec names that folder, which the sandbox keeps readable (not writable).

FFmpeg: the folder of the input glob and of other `-i` files; the output file's folder.

Both: the farm's storage folders the Manager sends with the task (`farm_roots`), so a job's files
beside its blend file stay readable when the shared storage lies in a hidden folder.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass

_RENDER_OUTPUT = {"-o", "--render-output"}
_PYTHON_FILE = {"-P", "--python"}
_GLOB_CHARS = set("*?[")

NO_OUTPUT_NOTE = ("the command has no --render-output: Blender can only write into the sandbox's "
                  "scratch /tmp, which is emptied after the run (add --render-output to keep the frames)")


@dataclass(frozen=True)
class SandboxSpec:
    """What a command line needs. Equal specs mean equal sandboxes (the warm pool relies on it)."""

    #: Programs run (the executable as resolved): their folder is kept readable.
    programs: tuple[str, ...] = ()
    #: The blend file: its folder is kept readable (and the real one behind a link).
    blendfile: str = ""
    #: Other files or folders the job names for reading (scripts, input frames).
    readable: tuple[str, ...] = ()
    #: Folders written into; created when missing.
    writable: tuple[str, ...] = ()
    #: Files the worker itself adds (the warm control script): readable wherever they lie.
    trusted: tuple[str, ...] = ()
    #: Lines for the task log when the sandbox is in use.
    notes: tuple[str, ...] = ()
    #: The program's settings folder in the user's config folder, when it reads it (`blender`
    #: without `--factory-startup`): kept readable, not writable.
    user_settings: str = ""
    #: The farm's storage folders, as the Manager names them for this task (its output roots: the
    #: shared storage and the folders mapped between platforms): readable, for a job's files beside
    #: its blend file (`//../textures`, a copy per job's other folders).
    farm_roots: tuple[str, ...] = ()


def _absolute(path: str, cwd: str) -> str:
    return os.path.normpath(os.path.join(cwd, path))


def _output_folder(pattern: str, blend_dir: str, cwd: str) -> str:
    """The folder Blender writes a `--render-output` pattern's frames into.

    `/renders/shot/` means files in that folder, `/renders/shot/frame_` too.
    """
    if pattern.startswith("//"):
        path = os.path.join(blend_dir or cwd, pattern[2:])
    else:
        path = os.path.join(cwd, pattern)
    if pattern.endswith("/"):
        return os.path.normpath(path)
    return os.path.dirname(os.path.normpath(path))


def blender_spec(argv: Sequence[str], blendfile: str, cwd: str | None = None,
                 farm_roots: Sequence[str] = ()) -> SandboxSpec:
    """The spec for a Blender command line (`argv[0]` the resolved executable)."""
    cwd = cwd or os.getcwd()
    blend = _absolute(blendfile, cwd) if blendfile else ""
    blend_dir = os.path.dirname(blend)
    readable: list[str] = []
    writable: list[str] = []
    for option, value in itertools.pairwise(argv[1:]):
        if option in _PYTHON_FILE:
            readable.append(_absolute(value, cwd))
        elif option in _RENDER_OUTPUT:
            writable.append(_output_folder(value, blend_dir, cwd))
    notes = () if writable else (NO_OUTPUT_NOTE,)
    settings = "" if "--factory-startup" in argv else "blender"
    return SandboxSpec(programs=(argv[0],), blendfile=blend, readable=tuple(dict.fromkeys(readable)),
                       writable=tuple(dict.fromkeys(writable)), notes=notes, user_settings=settings,
                       farm_roots=tuple(farm_roots))


def glob_base(pattern: str) -> str:
    """The deepest folder of a glob pattern without wildcards: `/r/shot/*.png` → `/r/shot`."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return "/".join(fixed) or "/"


def ffmpeg_spec(
    argv: Sequence[str], input_glob: str, output_file: str, cwd: str | None = None,
    farm_roots: Sequence[str] = (),
) -> SandboxSpec:
    """The spec for an FFmpeg command line (`argv[0]` the resolved executable)."""
    cwd = cwd or os.getcwd()
    readable = [_absolute(glob_base(input_glob), cwd)]
    for option, value in itertools.pairwise(argv[1:]):
        if option == "-i" and value != input_glob and not (_GLOB_CHARS & set(value)) and "://" not in value:
            readable.append(_absolute(value, cwd))
    writable = os.path.dirname(_absolute(output_file, cwd))
    return SandboxSpec(programs=(argv[0],), readable=tuple(dict.fromkeys(readable)), writable=(writable,),
                       farm_roots=tuple(farm_roots))
