"""From a blender-render command line to a warm request (or the reason to run cold)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.worker.commands.blender import warm_or_cold
from app.worker.config import WorkerConfig
from app.worker.warm.pool import WarmBlenders
from app.worker.warm.request import ColdReason, WarmRequest, parse_frames, parse_warm_request
from tests.worker.recording import RecordingSink, make_context

EXE = "/usr/bin/blender"
FLAMENCO_ARGS = ["--scene", "Scene", "--python-expr", "import bpy", "--render-output", "/out/######",
                 "--render-format", "PNG", "--render-frame", "1..4"]


def test_stock_flamenco_command_line_runs_warm() -> None:
    request = parse_warm_request(EXE, ["-b", "-y"], "/farm/scene.blend", FLAMENCO_ARGS)
    assert isinstance(request, WarmRequest), request
    assert request.frames == (1, 2, 3, 4)
    assert request.blendfile == "/farm/scene.blend"
    # The key is the whole command line except the frames, in its order.
    assert request.key == (EXE, "-b", "-y", "/farm/scene.blend", *FLAMENCO_ARGS[:-2])


def test_tasks_of_one_job_share_a_key_and_differ_in_frames() -> None:
    a = parse_warm_request(EXE, ["-b"], "/s.blend", [*FLAMENCO_ARGS[:-1], "1..4"])
    b = parse_warm_request(EXE, ["-b"], "/s.blend", [*FLAMENCO_ARGS[:-1], "5,7,9..10"])
    assert isinstance(a, WarmRequest) and isinstance(b, WarmRequest)
    assert a.key == b.key and b.frames == (5, 7, 9, 10)


def test_python_scripts_before_and_after_the_file_are_watched() -> None:
    request = parse_warm_request(EXE, ["-b", "--python", "setup.py"], "/s.blend",
                                 ["-P", "/abs/after.py", "-f", "3"])
    assert isinstance(request, WarmRequest)
    assert request.scripts == (str(Path("setup.py").absolute()), "/abs/after.py")
    assert request.frames == (3,)


@pytest.mark.parametrize(
    ("before", "after", "reason"),
    [
        (["-b"], ["--render-output", "/o/#", "--frobnicate", "-f", "1"], "unknown argument '--frobnicate'"),
        (["-b", "--weird"], ["-f", "1"], "unknown argument '--weird'"),
        (["-b"], ["-a"], "-a renders the whole animation"),
        (["-b"], ["-f", "1", "--python-expr", "x"], "argument '--python-expr' after --render-frame"),
        (["-b"], ["-f", "1", "--", "x"], "argument '--' after --render-frame"),
        (["-b"], ["--", "-f", "1"], "arguments after '--'"),
        (["-b"], ["--render-output"], "argument '--render-output' without its value"),
        (["-b"], ["--render-output", "/o/#"], "no --render-frame argument"),
        ([], ["-f", "1"], "not a background render"),
        (["-b", "-f", "1"], [], "--render-frame before the blend file"),
        (["-b"], ["-f", "+1"], "relative or negative frame numbers"),
        (["-b"], ["-f", "4..2"], "descending frame range"),
    ],
)
def test_arguments_it_does_not_understand_run_cold(before: list[str], after: list[str], reason: str) -> None:
    result = parse_warm_request(EXE, before, "/s.blend", after)
    assert isinstance(result, ColdReason), result
    assert reason in result.text


def test_no_blend_file_runs_cold() -> None:
    result = parse_warm_request(EXE, ["-b"], "", ["-f", "1"])
    assert isinstance(result, ColdReason) and "no blend file" in result.text


@pytest.mark.parametrize(
    ("spec", "frames"),
    [("7", (7,)), ("1..3", (1, 2, 3)), ("1,3,5..6", (1, 3, 5, 6)), ("0", (0,)), ("2..2", (2,))],
)
def test_frame_specs(spec: str, frames: tuple[int, ...]) -> None:
    assert parse_frames(spec) == frames


@pytest.mark.parametrize("spec", ["", "a", "1..", "1-3", "1,,2", "-3"])
def test_unreadable_frame_specs_run_cold(spec: str) -> None:
    assert isinstance(parse_frames(spec), ColdReason)


def _params(**extra) -> dict:
    return {"exe": "blender", "exeArgs": "-b -y", "blendfile": "/s.blend",
            "args": ["--render-output", "/o/######", "--render-frame", "1..2"], **extra}


def test_worker_config_and_command_parameter_switch_warm_off(tmp_path: Path) -> None:
    sink = RecordingSink()
    on = WorkerConfig(data_dir=tmp_path)
    off = WorkerConfig(data_dir=tmp_path, warm_blender=False)
    ctx, _ = make_context(sink, on, "blender-render", _params(), 2)
    ctx.warm = WarmBlenders(on)
    assert isinstance(warm_or_cold(ctx, _params(), EXE), WarmRequest)
    cold = warm_or_cold(ctx, _params(warm=False), EXE)
    assert isinstance(cold, ColdReason) and "warm: false" in cold.text
    ctx.config = off
    cold = warm_or_cold(ctx, _params(), EXE)
    assert isinstance(cold, ColdReason) and "warm_blender is off" in cold.text
    ctx.config, ctx.warm = on, None
    assert isinstance(warm_or_cold(ctx, _params(), EXE), ColdReason)


def test_warm_settings_are_read_from_the_worker_file(tmp_path: Path) -> None:
    path = tmp_path / "worker.yaml"
    path.write_text("warm_blender: false\nwarm_blender_idle_s: 30\nwarm_blender_max_frames: 50\n"
                    "warm_blender_max_memory_mb: 4096\n")
    cfg = WorkerConfig.load(path)
    assert (cfg.warm_blender, cfg.warm_blender_idle_s, cfg.warm_blender_max_frames,
            cfg.warm_blender_max_memory_mb) == (False, 30.0, 50, 4096)
    assert WorkerConfig(data_dir=tmp_path).warm_blender is True
