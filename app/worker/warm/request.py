"""From a `blender-render` command line to a warm request, or to the reason it must run cold.

A warm Blender is started with the command line minus its `--render-frame` option, plus the
control script, so Blender itself applies every other argument (scene, output path and format,
`--python-expr`/`--python` before and after the file) in the same order as a cold run does before
it renders. That only holds for arguments whose effect is fully known; anything else runs cold.
The frames then come one by one through the control script.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.worker.sandbox.spec import SandboxSpec

#: Options that take no value, harmless at any position.
_FLAGS = {
    "-b", "--background", "-y", "--enable-autoexec", "-Y", "--disable-autoexec", "--factory-startup",
    "-noaudio", "--python-use-system-env", "--disable-crash-handler", "--disable-abort-handler",
}
#: Options that take one value, harmless at any position (their effect is the same every task).
_WITH_VALUE = {
    "--python-expr", "--python", "-P", "-t", "--threads", "--addons", "--log-level",
    "-S", "--scene", "-o", "--render-output", "-F", "--render-format", "-x", "--use-extension",
    "-E", "--engine", "-s", "--frame-start", "-e", "--frame-end", "-j", "--frame-jump",
}
_PYTHON_FILE = {"--python", "-P"}
_RENDER_FRAME = {"-f", "--render-frame"}
_ANIMATION = {"-a", "--render-anim"}
_RANGE = re.compile(r"^(\d+)(?:\.\.(\d+))?$")
#: A task with more frames than this is surely a mistake; let Blender itself deal with it.
MAX_FRAMES = 100_000


@dataclass(frozen=True)
class WarmRequest:
    """A render that can run warm: the process to (re)use and the frames to render in it."""

    #: The command line without its frames: equal keys share one warm Blender.
    key: tuple[str, ...]
    blendfile: str
    frames: tuple[int, ...]
    #: Files whose change on disk means the warm Blender must load afresh (`--python` scripts).
    scripts: tuple[str, ...] = ()
    #: What the command needs from a sandbox; part of what a reused warm Blender must match.
    sandbox: SandboxSpec | None = None


@dataclass(frozen=True)
class ColdReason:
    """Why a command runs in a fresh Blender."""

    text: str


def parse_frames(spec: str) -> tuple[int, ...] | ColdReason:
    """Blender's `--render-frame` syntax, absolute frames only: `7`, `1..4`, `1,3,5..7`."""
    frames: list[int] = []
    for part in spec.split(","):
        match = _RANGE.match(part.strip())
        if match is None:
            if part.strip()[:1] in "+-" and part.strip():
                return ColdReason(f"relative or negative frame numbers ({spec!r})")
            return ColdReason(f"cannot read the frames {spec!r}")
        first = int(match.group(1))
        last = int(match.group(2)) if match.group(2) is not None else first
        if last < first:
            return ColdReason(f"descending frame range {part!r}")
        if len(frames) + last - first + 1 > MAX_FRAMES:
            return ColdReason(f"more than {MAX_FRAMES} frames")
        frames.extend(range(first, last + 1))
    return tuple(frames)


def _scan(args: Sequence[str], before_file: bool) -> tuple[list[str], list[str]] | ColdReason:
    """Check each argument; return (python script files, the frame specs found)."""
    scripts: list[str] = []
    frame_specs: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if frame_specs:
            return ColdReason(f"argument {arg!r} after --render-frame")
        if arg in _FLAGS:
            i += 1
            continue
        if arg in _WITH_VALUE or arg in _RENDER_FRAME:
            if i + 1 >= len(args):
                return ColdReason(f"argument {arg!r} without its value")
            if arg in _PYTHON_FILE:
                scripts.append(args[i + 1])
            if arg in _RENDER_FRAME:
                if before_file:
                    return ColdReason("--render-frame before the blend file")
                frame_specs.append(args[i + 1])
            i += 2
            continue
        if arg in _ANIMATION:
            return ColdReason(f"{arg} renders the whole animation")
        if arg == "--":
            return ColdReason("arguments after '--' (meant for scripts)")
        return ColdReason(f"unknown argument {arg!r}")
    return scripts, frame_specs


def parse_warm_request(
    exe_path: str, before_file: Sequence[str], blendfile: str, after_file: Sequence[str]
) -> WarmRequest | ColdReason:
    """The warm request for `exe_path before_file blendfile after_file`, or why it runs cold.

    `before_file` is everything between the executable and the file (the executable's own
    arguments, `exeArgs`, `argsBefore`); `after_file` is the command's `args`.
    """
    if not blendfile:
        return ColdReason("no blend file given")
    before = _scan(before_file, before_file=True)
    if isinstance(before, ColdReason):
        return before
    after = _scan(after_file, before_file=False)
    if isinstance(after, ColdReason):
        return after
    if not ({"-b", "--background"} & set(before_file)):
        return ColdReason("not a background render (no -b before the file)")
    scripts = before[0] + after[0]
    specs = after[1]
    if not specs:
        return ColdReason("no --render-frame argument")
    frames = parse_frames(specs[0])
    if isinstance(frames, ColdReason):
        return frames
    key = (exe_path, *before_file, blendfile, *after_file[:-2])
    absolute = tuple(str(Path(s).absolute()) for s in scripts)
    return WarmRequest(key=key, blendfile=str(Path(blendfile).absolute()), frames=frames, scripts=absolute)
