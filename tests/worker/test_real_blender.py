"""A real Blender render through the blender-render command (Debian's Blender 3.4, Cycles on CPU)."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from PIL import Image

from app.worker.config import WorkerConfig
from app.worker.task_runner import TaskOutcome, TaskRunner
from tests.worker.recording import RecordingOutputs, RecordingSink, make_task

BLENDER = shutil.which("blender")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        BLENDER is None, reason="the blender executable is not on PATH; install Blender to run this"
    ),
]

# Debian's Blender is built without OpenImageDenoiser: denoising must be off or every render fails.
_MAKE_SCENE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 2
scene.cycles.use_denoising = False
scene.render.resolution_x = 32
scene.render.resolution_y = 32
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = 2
scene.render.image_settings.file_format = 'PNG'
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


@pytest.fixture(scope="module")
def tiny_blend(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("blend") / "tiny.blend"
    assert BLENDER is not None
    subprocess.run(
        [BLENDER, "-b", "--factory-startup", "--python-expr", _MAKE_SCENE.format(path=path)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert path.is_file()
    return path


async def test_blender_renders_two_frames_through_the_command(tiny_blend: Path, tmp_path: Path) -> None:
    out_dir = tmp_path / "frames"
    task = make_task(
        [
            {
                "name": "blender-render",
                "parameters": {
                    "exe": "blender",
                    "exeArgs": "-b -y --factory-startup",
                    "argsBefore": [],
                    "blendfile": str(tiny_blend),
                    "args": [
                        "--render-output",
                        str(out_dir / "######"),
                        "--render-format",
                        "PNG",
                        "--render-frame",
                        "1..2",
                    ],
                },
                "total_step_count": 2,
            }
        ]
    )
    sink, outputs = RecordingSink(), RecordingOutputs()
    runner = TaskRunner(sink, WorkerConfig(data_dir=tmp_path / "data"), outputs)

    assert await runner.run(task) is TaskOutcome.COMPLETED, sink.log[-2000:]

    frames = sorted(out_dir.glob("*.png"))
    assert [f.name for f in frames] == ["000001.png", "000002.png"]
    for frame in frames:
        with Image.open(frame) as img:
            assert img.size == (32, 32)
    assert [p.name for _, p in outputs.images] == ["000001.png", "000002.png"]
    steps = [p["steps_completed"] for p in sink.payloads if "steps_completed" in p]
    assert steps[:2] == [1, 2] and steps[-1] == 2
    activities = [p.get("activity", "") for p in sink.payloads]
    assert "Rendering frame 1" in activities and "Rendering frame 2" in activities
    final = sink.payloads[-1]
    assert {k: final[k] for k in ("taskStatus", "activity")} == {"taskStatus": "completed", "activity": "Completed"}
    # With it, what Blender printed: its frames' Time: lines added up and its peak memory.
    assert final["render_time_s"] >= 0 and final["peak_memory_mb"] > 0 and set(final) == {
        "taskStatus", "activity", "render_time_s", "peak_memory_mb"}
    log = sink.log
    assert "going to run: " in log and "--render-frame 1..2" in log
    assert "> Saved: '" in log and "exited with code 0" in log


async def test_blender_error_fails_the_task(tmp_path: Path) -> None:
    task = make_task(
        [
            {
                "name": "blender-render",
                "parameters": {
                    "exe": "blender",
                    "exeArgs": "-b --factory-startup",
                    "args": ["--python-expr", "import sys; sys.exit(3)"],
                },
                "total_step_count": 1,
            }
        ]
    )
    sink = RecordingSink()
    assert await TaskRunner(sink, WorkerConfig(data_dir=tmp_path)).run(task) is TaskOutcome.FAILED
    assert sink.payloads[-1]["taskStatus"] == "failed"
    assert "blender exited with code" in sink.payloads[-1]["activity"]


async def test_cancelling_a_real_render_kills_blender(tiny_blend: Path, tmp_path: Path) -> None:
    task = make_task(
        [
            {
                "name": "blender-render",
                "parameters": {
                    "exe": "blender",
                    "exeArgs": "-b -y --factory-startup",
                    "blendfile": str(tiny_blend),
                    "args": [
                        "--render-output",
                        str(tmp_path / "######"),
                        "--render-format",
                        "PNG",
                        "--render-frame",
                        "1..500",
                    ],
                },
                "total_step_count": 500,
            }
        ]
    )
    first_frame = asyncio.Event()

    class Outputs(RecordingOutputs):
        def queue_image(self, task_id: str, path: Path) -> None:
            super().queue_image(task_id, path)
            first_frame.set()

    run = asyncio.create_task(
        TaskRunner(RecordingSink(), WorkerConfig(data_dir=tmp_path / "data"), Outputs()).run(task)
    )
    await asyncio.wait_for(first_frame.wait(), 60)
    blenders = [p for p in psutil.Process().children(recursive=True) if "blender" in p.name().lower()]
    assert blenders, "no blender process found while rendering"

    started = time.monotonic()
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert time.monotonic() - started < 2.0
    assert not [p.pid for p in blenders if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert len(list(tmp_path.glob("*.png"))) < 500
