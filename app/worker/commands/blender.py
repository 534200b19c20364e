"""The `blender-render` command: building Blender's command line and reading its progress.

Command line: `exe exeArgs argsBefore [blendfile] args`. Output lines are parsed (with the optional
Blender 5 log prefix `<time> render | `): `Fra:<n>` updates the activity, `Saved: '<file>'` counts
the frame done and offers the file as last-rendered image, `Time: ...` closes a frame (counted once
even when a `Saved:` line came first), and "skipping existing frame" counts a step. The frame and
the sample count of a `Fra:` line (Cycles' `| Sample 64/128`, EEVEE's `| Rendering 12 / 64 samples`)
go to the worker's render progress, which its vitals report. The `Time:` lines' seconds and the
memory figures go to the task's render statistics (`app.worker.render_stats`).

A command whose arguments are all understood renders in the worker's warm Blender (see
`app.worker.warm`), with the same output lines reported the same way; any other runs cold. The
task log says which, and why a command ran cold.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
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
from app.worker.render_stats import frame_seconds, memory_mb
from app.worker.sandbox import blender_spec
from app.worker.warm.pool import MustRunCold, TaskHooks, WarmBlenders, WarmFailed
from app.worker.warm.request import ColdReason, WarmRequest, parse_warm_request

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
# Cycles: "| Sample 64/128" (older: "Path Tracing Tile 3/4, Sample 16/16"); EEVEE: "| Rendering 12 / 64 samples".
_SAMPLE = re.compile(r"\bSample\s+(\d+)\s*/\s*(\d+)|\bRendering\s+(\d+)\s*/\s*(\d+)\s+samples\b")


@dataclass(frozen=True)
class LineInfo:
    """What one Blender output line means for progress."""

    frame: int | None = None
    saved: str | None = None
    step: bool = False
    #: (sample, samples in all) of a `Fra:` line that says how far the frame's sampling is.
    samples: tuple[int, int] | None = None
    #: The seconds a frame took, from its closing `Time:` line.
    frame_seconds: float | None = None
    #: The highest memory figure (MiB) of a `Fra:` line.
    memory_mb: float | None = None


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
            samples, memory = _samples(text), memory_mb(text)
            if frame != self.current_frame:
                self.current_frame = frame
                return LineInfo(frame=frame, samples=samples, memory_mb=memory)
            return LineInfo(samples=samples, memory_mb=memory)
        if match := _SAVED.match(text):
            first = not self._frame_counted
            self._frame_counted = True
            return LineInfo(saved=match.group(1), step=first)
        if _TIME.match(text):
            counted = self._frame_counted
            self._frame_counted = False
            return LineInfo(step=not counted, frame_seconds=frame_seconds(text))
        if _SKIPPING.search(text):
            self._frame_counted = False
            return LineInfo(step=True)
        return LineInfo()


def _samples(text: str) -> tuple[int, int] | None:
    match = _SAMPLE.search(text)
    if match is None:
        return None
    done, total = (match.group(1), match.group(2)) if match.group(1) else (match.group(3), match.group(4))
    return int(done), int(total)


#: Blender's switches for running Python stored in the .blend file (auto-run scripts, drivers).
AUTOEXEC_ON = frozenset({"-y", "--enable-autoexec"})
AUTOEXEC_OFF = "--disable-autoexec"


def _argv_parts(params: Mapping[str, Any], exe_path: str,
                blend_scripts: bool = False) -> tuple[list[str], str, list[str]]:
    """(executable and arguments before the file, the file, arguments after it).

    Unless the Manager said this job's .blend scripts may run, every auto-run switch is dropped and
    `--disable-autoexec` comes last before the file, whatever the job type or variables asked for.
    """
    exe_parts = split_exe(param_str(params, "exe"))
    before = [exe_path, *exe_parts[1:]]
    before += split_args(param_str(params, "exeArgs", required=False))
    before += param_str_list(params, "argsBefore")
    after = param_str_list(params, "args")
    if not blend_scripts:
        before = [before[0], *(a for a in before[1:] if a not in AUTOEXEC_ON and a != AUTOEXEC_OFF), AUTOEXEC_OFF]
        after = [a for a in after if a not in AUTOEXEC_ON]
    return before, param_str(params, "blendfile", required=False), after


def build_blender_argv(params: Mapping[str, Any], exe_path: str, blend_scripts: bool = False) -> list[str]:
    """The full Blender command line for a `blender-render` command's parameters."""
    before, blendfile, after = _argv_parts(params, exe_path, blend_scripts)
    return [*before, *([blendfile] if blendfile else []), *after]


def render_outputs(argv: Sequence[str], blendfile: str) -> list[str]:
    """Where Blender writes its frames: each `-o`/`--render-output` value, `//` made absolute."""
    found = [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg in ("-o", "--render-output")]
    base = os.path.dirname(blendfile) if blendfile else ""
    return [os.path.join(base, path[2:]) if path.startswith("//") and base else path for path in found]


def warm_or_cold(ctx: CommandContext, params: Mapping[str, Any], exe_path: str) -> WarmRequest | ColdReason:
    """The warm request for this command, or why it runs in a fresh Blender."""
    if ctx.warm is None or not ctx.config.warm_blender:
        return ColdReason("warm_blender is off in the worker configuration")
    if params.get("warm", True) is False:
        return ColdReason("the command asks for a cold run (warm: false)")
    before, blendfile, after = _argv_parts(params, exe_path, ctx.task.blend_scripts)
    request = parse_warm_request(exe_path, before[1:], blendfile, after)
    if isinstance(request, WarmRequest) and (reason := ctx.warm.cold_reason(request)):
        return ColdReason(reason)
    return request


def _frame_reporter(ctx: CommandContext) -> Callable[[str], None]:
    parser = BlenderOutputParser()
    progress = ctx.progress

    def on_line(line: str) -> None:
        info = parser.parse(line)
        if info.frame is not None:
            ctx.set_activity(f"Rendering frame {info.frame}")
            if progress is not None:
                progress.frame_started(info.frame)
        if info.samples is not None and progress is not None:
            progress.sampled(*info.samples)
        if info.saved is not None:
            ctx.output_produced(info.saved)
        if info.frame_seconds is not None:
            ctx.stats.frame_took(info.frame_seconds)
        if info.memory_mb is not None:
            ctx.stats.memory_seen(info.memory_mb)
        if info.step:
            frame = parser.current_frame
            ctx.add_step(f"Rendered frame {frame}" if frame is not None else None)

    return on_line


async def blender_render(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    """Run Blender, warm when possible; fail when it exits non-zero or a warm frame fails."""
    exe = split_exe(param_str(params, "exe"))[0]
    exe_path = resolve_executable(exe, ctx.config)
    if ctx.progress is not None:
        ctx.progress.blender_exe = exe_path
    argv = build_blender_argv(params, exe_path, ctx.task.blend_scripts)
    for output in render_outputs(argv, param_str(params, "blendfile", required=False)):
        ctx.check_output(output, "blender --render-output")
    if not ctx.task.blend_scripts:
        ctx.log("scripts stored in the .blend file will not run (this farm does not run them for this job)")
    sandbox = blender_spec(argv, param_str(params, "blendfile", required=False),
                           farm_roots=ctx.task.output_roots or ())
    request = warm_or_cold(ctx, params, exe_path)
    if isinstance(request, WarmRequest):
        assert ctx.warm is not None
        if await _render_warm(ctx, ctx.warm, dataclasses.replace(request, sandbox=sandbox)):
            return
        request = ColdReason(ctx.warm.cold_reason(request) or "the warm Blender cannot render it")
    ctx.log(f"cold Blender: {request.text}")
    code = await ctx.run_process(argv, _frame_reporter(ctx), sandbox=sandbox)
    if code != 0:
        raise CommandError(f"blender exited with code {code}")


async def _render_warm(ctx: CommandContext, warm: WarmBlenders, request: WarmRequest) -> bool:
    """Render in the warm Blender; False when the scene turned out to need a cold run."""
    on_line = _frame_reporter(ctx)

    def output(pid: int, line: str) -> None:
        ctx.log(f"pid={pid} > {line}")
        on_line(line)

    ctx.log(f"warm Blender: frames {_frame_list(request.frames)}")
    try:
        await warm.render(request, TaskHooks(log=ctx.log, output=output))
    except MustRunCold:
        return False
    except WarmFailed as exc:
        raise CommandError(str(exc)) from None
    except (FileNotFoundError, PermissionError, NotADirectoryError) as exc:
        raise CommandError(f"cannot run {request.key[0]}: {exc.strerror or exc}") from exc
    return True


def _frame_list(frames: tuple[int, ...]) -> str:
    if len(frames) > 1 and frames == tuple(range(frames[0], frames[-1] + 1)):
        return f"{frames[0]}..{frames[-1]}"
    return ",".join(map(str, frames))
