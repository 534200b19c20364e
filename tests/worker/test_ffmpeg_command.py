"""The frames-to-video command: FFmpeg command lines per platform, and a real FFmpeg run."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from app.worker.commands.base import CommandError
from app.worker.commands.ffmpeg import build_ffmpeg_argv, format_fps, frames_to_video, write_concat_index
from app.worker.config import WorkerConfig
from tests.fakes.fake_blender import write_png
from tests.worker.recording import RecordingSink, make_context

PARAMS = {
    "exe": "ffmpeg",
    "exeArgs": "-hide_banner",
    "fps": 24.0,
    "inputGlob": "/r/*.png",
    "outputFile": "/r/video.mp4",
    "argsBefore": ["-y"],
    "args": ["-c:v", "h264", "-pix_fmt", "yuv420p"],
}


def test_fps_text() -> None:
    assert format_fps(24.0) == "24"
    assert format_fps(29.97) == "29.97"
    assert format_fps(25) == "25"


def test_posix_argv_uses_glob_input() -> None:
    assert build_ffmpeg_argv(PARAMS, "/usr/bin/ffmpeg", platform="linux") == [
        "/usr/bin/ffmpeg",
        "-hide_banner",
        "-y",
        "-r",
        "24",
        "-pattern_type",
        "glob",
        "-i",
        "/r/*.png",
        "-c:v",
        "h264",
        "-pix_fmt",
        "yuv420p",
        "-r",
        "24",
        "/r/video.mp4",
    ]


def test_windows_argv_uses_concat_index() -> None:
    argv = build_ffmpeg_argv(
        PARAMS, "ffmpeg.exe", platform="win32", index_file=Path("C:/r/ffmpeg-file-index.txt")
    )
    assert argv[3:9] == ["-f", "concat", "-safe", "0", "-i", str(Path("C:/r/ffmpeg-file-index.txt"))]
    assert argv[-3:] == ["-r", "24", "/r/video.mp4"]


def test_zero_fps_is_refused() -> None:
    with pytest.raises(CommandError, match="fps"):
        build_ffmpeg_argv(dict(PARAMS, fps=0), "ffmpeg", platform="linux")


def test_concat_index_lists_frames_in_order(tmp_path: Path) -> None:
    for n in (2, 1, 3):
        (tmp_path / f"{n:04d}.png").write_bytes(b"x")
    index = write_concat_index(str(tmp_path / "*.png"), 25.0)
    lines = index.read_text().splitlines()
    assert lines[0] == f"file '{(tmp_path / '0001.png').as_posix()}'"
    assert lines[1] == "duration 0.04"
    assert len(lines) == 6


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg is not installed")
@pytest.mark.skipif(sys.platform == "win32", reason="glob input is POSIX-only")
async def test_real_ffmpeg_makes_a_video(tmp_path: Path) -> None:
    for frame in range(1, 6):
        write_png(tmp_path / f"{frame:06d}.png", 32, 32, (frame * 40, 0, 0))
    params = {
        "exe": "ffmpeg",
        "exeArgs": "-hide_banner -loglevel error",
        "fps": 24,
        "argsBefore": [],
        "inputGlob": str(tmp_path / "*.png"),
        "outputFile": str(tmp_path / "video" / "out.mp4"),
        "args": ["-c:v", "mpeg4", "-y"],
    }
    sink = RecordingSink()
    ctx, reporter = make_context(sink, WorkerConfig(data_dir=tmp_path / "data"), "frames-to-video", params)
    async with reporter:
        await frames_to_video(ctx, params)
        await reporter.flush()
    video = tmp_path / "video" / "out.mp4"
    assert video.is_file() and video.stat().st_size > 0
    assert "-pattern_type glob" in sink.log
