"""The blender-render command: argument building, output parsing, and a run of the fake Blender."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.worker.commands.base import CommandError
from app.worker.commands.blender import BlenderOutputParser, blender_render, build_blender_argv
from app.worker.config import WorkerConfig
from tests.worker.conftest import FAKES_READABLE
from tests.worker.recording import RecordingOutputs, RecordingSink, make_context

BLENDER_34_FRAME = [
    "Fra:7 Mem:9.15M (Peak 10.83M) | Time:00:00.00 | Mem:0.00M, Peak:0.00M | Scene, ViewLayer | Synchronizing",
    "Fra:7 Mem:9.96M (Peak 10.83M) | Time:00:00.00 | Mem:0.79M, Peak:0.79M | Scene, ViewLayer | Sample 2/2",
    "Saved: '/render/shot/000007.png'",
    " Time: 00:00.01 (Saving: 00:00.00)",
]


def _parse(lines: list[str]) -> tuple[list[int], list[str], int]:
    parser = BlenderOutputParser()
    frames, saved, steps = [], [], 0
    for line in lines:
        info = parser.parse(line)
        if info.frame is not None:
            frames.append(info.frame)
        if info.saved:
            saved.append(info.saved)
        steps += info.step
    return frames, saved, steps


def test_parser_counts_one_step_per_frame_for_saved_then_time() -> None:
    assert _parse(BLENDER_34_FRAME) == ([7], ["/render/shot/000007.png"], 1)


def test_parser_understands_the_blender5_prefix() -> None:
    lines = [f"00:01.{i:03d}  render           | {line}" for i, line in enumerate(BLENDER_34_FRAME)]
    assert _parse(lines) == ([7], ["/render/shot/000007.png"], 1)


def test_parser_understands_real_blender5_lines() -> None:
    lines = [
        "00:01.250  render           | Fra: 17 | Mem: 1M | Updating Scene BVH | Building",
        "02:19.277  render           | Fra: 17 | Mem: 1699M | Finished",
        "        brick.jpg   16.00M (16,777,200:20.234  render           | Saved: 'C:\\out\\0017.jpg'",
        "00:20.234  render           | Time: 00:19.28 (Saving: 00:00.14)",
        "00:20.300  render           | Fra: 18 | Mem: 2316M | Sample 1/128",
        '00:01.618  blend            | Read blend: "/tmp/x.blend"',
    ]
    assert _parse(lines) == ([17, 18], ["C:\\out\\0017.jpg"], 1)


def test_parser_time_without_saved_counts_and_fra_time_field_does_not() -> None:
    lines = [
        "Fra:1 Mem:1M | Time:00:00.00 | Sample 1/1",
        " Time: 00:01.00 (Saving: 00:00.00)",
        "Fra:2 Mem:1M | Time:00:00.00 | Sample 1/1",
        "Time: 00:01.00 (Saving: 00:00.00)",
    ]
    assert _parse(lines) == ([1, 2], [], 2)


def test_parser_stereo_saves_count_once() -> None:
    lines = [
        "Fra:3 x",
        "Saved: '/o/0003_L.png'",
        "Saved: '/o/0003_R.png'",
        " Time: 00:00.10 (Saving: 00:00.00)",
    ]
    assert _parse(lines) == ([3], ["/o/0003_L.png", "/o/0003_R.png"], 1)


def test_parser_skipping_existing_frames_counts_steps() -> None:
    lines = ['skipping existing frame "/o/0001.png"', 'Skipping existing frame "/o/0002.png"']
    assert _parse(lines)[2] == 2


def test_argv_is_exe_exeargs_argsbefore_blendfile_args() -> None:
    params = {
        "exe": "blender",
        "exeArgs": "-b -y --python-expr 'import bpy'",
        "argsBefore": ["--debug"],
        "blendfile": "/s/shot.blend",
        "args": ["--render-frame", 1],
    }
    assert build_blender_argv(params, "/usr/bin/blender", blend_scripts=True) == [
        "/usr/bin/blender",
        "-b",
        "-y",
        "--python-expr",
        "import bpy",
        "--debug",
        "/s/shot.blend",
        "--render-frame",
        "1",
    ]


def test_blend_scripts_stay_off_unless_the_manager_allows_them() -> None:
    params = {
        "exe": "blender -y",
        "exeArgs": "-b --enable-autoexec",
        "argsBefore": ["-y", "--debug"],
        "blendfile": "/s/shot.blend",
        "args": ["-y", "--render-frame", "1"],
    }
    argv = build_blender_argv(params, "/usr/bin/blender")
    assert argv == ["/usr/bin/blender", "-b", "--debug", "--disable-autoexec", "/s/shot.blend",
                    "--render-frame", "1"]


def test_argv_without_blendfile_and_with_args_in_exe() -> None:
    params = {"exe": "/opt/blender/blender --factory-startup", "exeArgs": "-b", "args": ["-a"]}
    assert build_blender_argv(params, "/opt/blender/blender") == [
        "/opt/blender/blender",
        "--factory-startup",
        "-b",
        "--disable-autoexec",
        "-a",
    ]


def test_argv_rejects_bad_parameter_types() -> None:
    with pytest.raises(CommandError, match="args"):
        build_blender_argv({"exe": "blender", "args": "--not-a-list"}, "blender")


def _fake_blender_config(tmp_path: Path) -> WorkerConfig:
    return WorkerConfig(data_dir=tmp_path / "data", sandbox_read_paths=FAKES_READABLE)


def _fake_params(fake_blender_argv: list[str], out: Path, extra: tuple[str, ...] = ()) -> dict:
    return {
        "exe": fake_blender_argv[0],
        "exeArgs": f"{fake_blender_argv[1]} -b",
        "blendfile": "/tmp/scene.blend",
        "args": [
            "--render-output",
            str(out / "frame_######"),
            "--render-format",
            "PNG",
            "--render-frame",
            "1..3",
            *extra,
        ],
    }


async def test_fake_blender_run_reports_frames_steps_and_outputs(
    tmp_path: Path, fake_blender_argv: list[str]
) -> None:
    sink, outputs = RecordingSink(), RecordingOutputs()
    params = _fake_params(fake_blender_argv, tmp_path)
    ctx, reporter = make_context(sink, _fake_blender_config(tmp_path), "blender-render", params, 3, outputs)
    ctx.steps_base = 10
    async with reporter:
        await blender_render(ctx, params)
        await reporter.flush()

    assert [p.name for _, p in outputs.images] == ["frame_000001.png", "frame_000002.png", "frame_000003.png"]
    assert all(p.is_file() for _, p in outputs.images)
    steps = [p["steps_completed"] for p in sink.payloads if "steps_completed" in p]
    assert steps == [11, 12, 13]
    activities = [p["activity"] for p in sink.payloads if "activity" in p]
    assert "Rendering frame 2" in activities
    log = sink.log
    assert log.startswith("scripts stored in the .blend file will not run")
    assert "\ncold Blender: warm_blender is off" in log
    assert "\ngoing to run: " in log
    assert "pid=" in log and "> Saved: '" in log
    assert "exited with code 0 after" in log.splitlines()[-1]


async def test_fake_blender5_output_is_parsed_too(tmp_path: Path, fake_blender_argv: list[str]) -> None:
    sink, outputs = RecordingSink(), RecordingOutputs()
    params = _fake_params(fake_blender_argv, tmp_path, ("--fake-blender5",))
    ctx, reporter = make_context(sink, _fake_blender_config(tmp_path), "blender-render", params, 3, outputs)
    async with reporter:
        await blender_render(ctx, params)
        await reporter.flush()
    assert len(outputs.images) == 3
    assert ctx.steps_done == 3


async def test_nonzero_exit_fails_the_command(tmp_path: Path, fake_blender_argv: list[str]) -> None:
    sink = RecordingSink()
    params = _fake_params(fake_blender_argv, tmp_path, ("--fake-exit-code", "2"))
    ctx, reporter = make_context(sink, _fake_blender_config(tmp_path), "blender-render", params, 3)
    async with reporter:
        with pytest.raises(CommandError, match="exited with code 2"):
            await blender_render(ctx, params)


async def test_long_output_lines_are_split_not_fatal(tmp_path: Path, fake_blender_argv: list[str]) -> None:
    sink = RecordingSink()
    params = _fake_params(fake_blender_argv, tmp_path, ("--fake-long-line", "100000"))
    ctx, reporter = make_context(sink, _fake_blender_config(tmp_path), "blender-render", params, 3)
    async with reporter:
        await blender_render(ctx, params)
        await reporter.flush()
    assert ctx.steps_done == 3
    assert sink.log.count("x" * 1000) >= 3


async def test_missing_blender_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    sink = RecordingSink()
    params = {"exe": "blender", "args": []}
    ctx, reporter = make_context(sink, _fake_blender_config(tmp_path), "blender-render", params)
    async with reporter:
        with pytest.raises(CommandError, match="not found on PATH.*blender_exe"):
            await blender_render(ctx, params)


def test_configured_blender_is_used_for_bare_name(tmp_path: Path) -> None:
    from app.worker.find_exe import resolve_executable

    cfg = WorkerConfig(data_dir=tmp_path, blender_exe=sys.executable)
    assert resolve_executable("blender", cfg) == sys.executable
    assert resolve_executable("Blender.exe", cfg) == sys.executable
