"""The `blender-render` command: building Blender's command line and reading its progress.

Command line: `exe exeArgs argsBefore [blendfile] args`. Output lines are parsed (with the optional
Blender 5 log prefix `<time> render | `): `Fra:<n>` updates the activity, `Saved: '<file>'` counts
the frame done and offers the file as last-rendered image, `Time: ...` closes a frame (counted once
even when a `Saved:` line came first), and "skipping existing frame" counts a step.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.worker.commands.base import (
    CommandContext,
    CommandError,
    param_str,
    param_str_list,
    split_args,
    split_exe,
)
from app.worker.find_exe import resolve_executable

_log = logging.getLogger(__name__)

# Blender 5 prefixes log lines with a timestamp and a category: "00:01.250  render           | Fra: 17 | ...".
# The prefix is searched for, not anchored: output of other libraries sometimes lacks its newline and
# ends up glued in front of it ("brick.jpg 16.00M (16,7700:20.234  render  | Saved: ...").
_PREFIX = re.compile(r"^.*?\d[\d:.]{0,15}\s+render\s+\|\s?")
#: Only this many leading characters are searched for the prefix (keeps huge lines cheap).
_PREFIX_SEARCH_CHARS = 400
_FRAME = re.compile(r"^Fra:\s*(-?\d+)\b")
_SAVED = re.compile(r"""^Saved:\s*['"](.+)['"]""")
_TIME = re.compile(r"^Time:\s*\d")
_SKIPPING = re.compile(r"skipping existing frame", re.IGNORECASE)


@dataclass(frozen=True)
class LineInfo:
    """What one Blender output line means for progress."""

    frame: int | None = None
    saved: str | None = None
    step: bool = False


class BlenderOutputParser:
    """Stateful line parser: turns Blender output into frame numbers, saved files and steps.

    Blender prints `Saved: '<file>'` and then ` Time: ...` for each finished frame (and stereo or
    multi-file outputs print several `Saved:` lines), so a frame counts one step at the first of
    them, and `Time:` only counts when no `Saved:` came for that frame.
    """

    def __init__(self) -> None:
        self.current_frame: int | None = None
        self._frame_counted = False

    def parse(self, line: str) -> LineInfo:
        prefix = _PREFIX.match(line, 0, _PREFIX_SEARCH_CHARS)
        text = (line[prefix.end() :] if prefix else line).strip()
        if match := _FRAME.match(text):
            frame = int(match.group(1))
            if frame != self.current_frame:
                self.current_frame = frame
                return LineInfo(frame=frame)
            return LineInfo()
        if match := _SAVED.match(text):
            first = not self._frame_counted
            self._frame_counted = True
            return LineInfo(saved=match.group(1), step=first)
        if _TIME.match(text):
            counted = self._frame_counted
            self._frame_counted = False
            return LineInfo(step=not counted)
        if _SKIPPING.search(text):
            self._frame_counted = False
            return LineInfo(step=True)
        return LineInfo()


def build_blender_argv(params: Mapping[str, Any], exe_path: str) -> list[str]:
    """The full Blender command line for a `blender-render` command's parameters."""
    exe_parts = split_exe(param_str(params, "exe"))
    argv = [exe_path, *exe_parts[1:]]
    argv += split_args(param_str(params, "exeArgs", required=False))
    argv += param_str_list(params, "argsBefore")
    blendfile = param_str(params, "blendfile", required=False)
    if blendfile:
        argv.append(blendfile)
    argv += param_str_list(params, "args")
    return argv


async def blender_render(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    """Run Blender; fail when it exits non-zero."""
    exe = split_exe(param_str(params, "exe"))[0]
    argv = build_blender_argv(params, resolve_executable(exe, ctx.config))
    parser = BlenderOutputParser()

    def on_line(line: str) -> None:
        info = parser.parse(line)
        if info.frame is not None:
            ctx.set_activity(f"Rendering frame {info.frame}")
        if info.saved is not None:
            ctx.output_produced(info.saved)
        if info.step:
            frame = parser.current_frame
            ctx.add_step(f"Rendered frame {frame}" if frame is not None else None)

    code = await ctx.run_process(argv, on_line)
    if code != 0:
        raise CommandError(f"blender exited with code {code}")
