"""The `frames-to-video` command: turning rendered frames into a video with FFmpeg.

On Linux and macOS FFmpeg's own glob input is used. Windows FFmpeg builds lack glob support, so
there a concat list (`ffmpeg-file-index.txt`) is written next to the frames and removed afterwards.
"""

from __future__ import annotations

import glob
import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from app.worker.commands.base import (
    CommandContext,
    CommandError,
    param_number,
    param_str,
    param_str_list,
    split_args,
    split_exe,
)
from app.worker.find_exe import resolve_executable
from app.worker.sandbox import ffmpeg_spec

_log = logging.getLogger(__name__)

INDEX_FILENAME = "ffmpeg-file-index.txt"


def format_fps(fps: float) -> str:
    """Shortest exact text for the frame rate: 24.0 → '24', 29.97 → '29.97'."""
    text = repr(float(fps))
    return text.removesuffix(".0")


def build_ffmpeg_argv(
    params: Mapping[str, Any], exe_path: str, platform: str = sys.platform, index_file: Path | None = None
) -> list[str]:
    """The FFmpeg command line; on Windows `index_file` is the concat list to read frames from."""
    fps = param_number(params, "fps")
    if fps == 0:
        raise CommandError("parameter 'fps' must not be zero")
    input_glob = param_str(params, "inputGlob")
    output_file = param_str(params, "outputFile")
    rate = format_fps(fps)
    argv = [exe_path, *split_exe(param_str(params, "exe"))[1:]]
    argv += split_args(param_str(params, "exeArgs", required=False))
    argv += param_str_list(params, "argsBefore")
    if platform == "win32":
        if index_file is None:
            raise CommandError("internal error: no concat index file for Windows")
        argv += ["-f", "concat", "-safe", "0", "-i", str(index_file)]
    else:
        argv += ["-r", rate, "-pattern_type", "glob", "-i", input_glob]
    argv += param_str_list(params, "args")
    argv += ["-r", rate, output_file]
    return argv


def write_concat_index(input_glob: str, fps: float) -> Path:
    """Write the concat list for the frames matching `input_glob`; return its path."""
    files = sorted(glob.glob(input_glob))
    if not files:
        raise CommandError(f"no frames match {input_glob}")
    index = Path(files[0]).parent / INDEX_FILENAME
    lines = []
    for name in files:
        quoted = Path(name).as_posix().replace("'", "'\\''")
        lines += [f"file '{quoted}'", f"duration {1.0 / fps}"]
    index.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return index


async def frames_to_video(ctx: CommandContext, params: Mapping[str, Any]) -> None:
    """Run FFmpeg over the frames; fail when it exits non-zero."""
    exe = split_exe(param_str(params, "exe"))[0]
    exe_path = resolve_executable(exe, ctx.config)
    fps = param_number(params, "fps")
    if fps == 0:
        raise CommandError("parameter 'fps' must not be zero")
    index: Path | None = None
    if sys.platform == "win32":
        index = write_concat_index(param_str(params, "inputGlob"), fps)
    try:
        argv = build_ffmpeg_argv(params, exe_path, index_file=index)
        output = Path(param_str(params, "outputFile"))
        ctx.check_output(output, "ffmpeg outputFile")
        output.parent.mkdir(parents=True, exist_ok=True)
        sandbox = ffmpeg_spec(argv, param_str(params, "inputGlob"), str(output),
                              farm_roots=ctx.task.output_roots or ())
        code = await ctx.run_process(argv, sandbox=sandbox)
    finally:
        if index is not None:
            index.unlink(missing_ok=True)
    if code != 0:
        raise CommandError(f"ffmpeg exited with code {code}")
