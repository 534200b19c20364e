"""Real Blender and FFmpeg in the sandbox (Debian's Blender 3.4, Cycles on CPU): the same pixels as
unconfined, cold and warm; no network, no home folder, no writes outside the output folder; FFmpeg's
preview video; a cancelled render's Blender killed inside the sandbox."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from PIL import Image

from app.worker.config import WorkerConfig
from app.worker.task_runner import TaskOutcome, TaskRunner
from app.worker.warm.pool import WarmBlenders
from tests.fakes.fake_blender import write_png
from tests.worker.recording import RecordingOutputs, RecordingSink, make_task
from tests.worker.test_sandbox import output

BLENDER, FFMPEG, BWRAP = shutil.which("blender"), shutil.which("ffmpeg"), shutil.which("bwrap")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(BLENDER is None, reason="the blender executable is not on PATH; install Blender"),
    pytest.mark.skipif(BWRAP is None or sys.platform != "linux", reason="bubblewrap is not installed"),
]

# Debian's Blender is built without OpenImageDenoiser: denoising must be off or every render fails.
_MAKE_SCENE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 4
scene.cycles.use_denoising = False
scene.render.resolution_x = 48
scene.render.resolution_y = 32
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = 3
cube = bpy.data.objects['Cube']
cube.keyframe_insert('rotation_euler', frame=1)
cube.rotation_euler[2] = 1.2
cube.keyframe_insert('rotation_euler', frame=3)
scene.render.image_settings.file_format = 'PNG'
bpy.ops.wm.save_as_mainfile(filepath=r'{path}')
"""


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("job") / "scene.blend"
    subprocess.run([BLENDER, "-b", "--factory-startup", "--python-expr", _MAKE_SCENE.format(path=path)],
                   check=True, capture_output=True, timeout=120)
    return path


@pytest.fixture
def fake_home(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A home folder with a secret, outside /tmp (which the sandbox replaces anyway)."""
    home = Path(tempfile.mkdtemp(prefix="tablao-home-", dir="/var/tmp"))
    (home / "secret.txt").write_text("SECRET-IN-HOME\n")
    monkeypatch.setenv("HOME", str(home))
    yield home
    shutil.rmtree(home, ignore_errors=True)


def _render(blend: Path, out: Path, frames: str = "1..3", warm: bool = False, extra: list[str] = ()) -> dict:
    return {"name": "blender-render", "total_step_count": 3, "parameters": {
        "exe": "blender", "exeArgs": "-b -y --factory-startup", "blendfile": str(blend),
        "args": [*extra, "--render-output", str(out / "######"), "--render-format", "PNG",
                 "--render-frame", frames], "warm": warm}}


async def _run(
    config: WorkerConfig, commands: list[dict], warm: WarmBlenders | None = None
) -> tuple[TaskOutcome, str]:
    sink = RecordingSink()
    outcome = await TaskRunner(sink, config, RecordingOutputs(), warm=warm).run(make_task(commands))
    return outcome, sink.log


def _pixels(folder: Path) -> list[bytes]:
    frames = sorted(folder.glob("*.png"))
    assert [f.name for f in frames] == ["000001.png", "000002.png", "000003.png"]
    result = []
    for frame in frames:
        with Image.open(frame) as img:
            result.append(img.convert("RGBA").tobytes())
    return result


async def test_cold_and_warm_renders_are_pixel_identical_inside_and_outside(scene: Path, tmp_path: Path):
    on = WorkerConfig(data_dir=tmp_path / "data")
    off = WorkerConfig(data_dir=tmp_path / "data", sandbox="off")
    results = {}
    for name, config in (("cold-off", off), ("cold-on", on)):
        outcome, log = await _run(config, [_render(scene, tmp_path / name)])
        assert outcome is TaskOutcome.COMPLETED, log[-3000:]
        assert ("going to run: " + BWRAP in log) == name.endswith("on") and "cold Blender" in log
        results[name] = _pixels(tmp_path / name)
    for name, config in (("warm-off", off), ("warm-on", on)):
        pool = WarmBlenders(config)
        try:
            outcome, log = await _run(config, [_render(scene, tmp_path / name, warm=True)], warm=pool)
        finally:
            await pool.close()
        assert outcome is TaskOutcome.COMPLETED, log[-3000:]
        assert "warm Blender: frames 1..3" in log and ("going to run: " + BWRAP in log) == name.endswith("on")
        results[name] = _pixels(tmp_path / name)
    assert results["cold-on"] == results["cold-off"] == results["warm-on"] == results["warm-off"]
    assert results["cold-on"][0] != results["cold-on"][2]  # the frames differ: pixels are compared


_PROBE = """
import os, socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=5).close()
    print('PROBE net connected')
except OSError as exc:
    print('PROBE net failed', exc)
try:
    print('PROBE home read', open(os.path.expanduser('~/secret.txt')).read().strip())
except OSError as exc:
    print('PROBE home failed', exc)
targets = (('out', r'{out}/written.txt'), ('beside', r'{beside}/evil.txt'), ('outside', r'{outside}'))
for name, path in targets:
    try:
        with open(path, 'w') as fh:
            fh.write('x')
        print('PROBE write', name, 'ok')
    except OSError as exc:
        print('PROBE write', name, 'failed', exc)
"""


async def test_blender_reaches_no_network_no_home_and_writes_only_its_output(
    scene: Path, tmp_path: Path, fake_home: Path
) -> None:
    connections = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        writer.close()

    outside = Path("/var/tmp") / f"tablao-sandbox-test-{time.monotonic_ns()}.txt"
    server = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    out = tmp_path / "out"
    expr = _PROBE.format(port=port, out=out, beside=scene.parent, outside=outside)
    command = {"name": "blender-render", "total_step_count": 1, "parameters": {
        "exe": "blender", "exeArgs": "-b --factory-startup", "blendfile": str(scene),
        "args": ["--render-output", str(out / "######"), "--python-expr", expr], "warm": False}}
    try:
        async with server:
            outcome, log = await _run(WorkerConfig(data_dir=tmp_path / "data"), [command])
            probes = [line for line in output(log) if line.startswith("PROBE")]
            assert outcome is TaskOutcome.COMPLETED, log[-3000:]
            assert probes[0].startswith("PROBE net failed") and not connections, probes
            assert probes[1].startswith("PROBE home failed"), probes
            assert probes[2] == "PROBE write out ok", probes
            assert probes[3].startswith("PROBE write beside failed [Errno 30] Read-only file system"), probes
            assert probes[4].startswith("PROBE write outside failed [Errno 30] Read-only file system"), probes
            assert not outside.exists() and not (scene.parent / "evil.txt").exists()
            assert (out / "written.txt").is_file()

            # Unconfined, the same job connects, reads the home folder and writes anywhere.
            outcome, log = await _run(WorkerConfig(data_dir=tmp_path / "data", sandbox="off"), [command])
            probes = [line for line in output(log) if line.startswith("PROBE")]
            assert probes[:2] == ["PROBE net connected", "PROBE home read SECRET-IN-HOME"] and connections
            assert outside.exists()
    finally:
        outside.unlink(missing_ok=True)
        (scene.parent / "evil.txt").unlink(missing_ok=True)


async def test_a_render_without_render_output_says_where_its_frames_go(scene: Path, tmp_path: Path) -> None:
    command = {"name": "blender-render", "total_step_count": 1, "parameters": {
        "exe": "blender", "exeArgs": "-b --factory-startup", "blendfile": str(scene),
        "args": ["--render-frame", "1"], "warm": False}}
    outcome, log = await _run(WorkerConfig(data_dir=tmp_path / "data"), [command])
    assert outcome is TaskOutcome.COMPLETED, log[-3000:]
    assert ("sandbox: the command has no --render-output: Blender can only write into the sandbox's "
            "scratch") in log
    assert "Saved: '/tmp/" in log and not list((tmp_path / "data" / "sandbox" / "run").iterdir())


@pytest.mark.skipif(FFMPEG is None, reason="ffmpeg is not installed")
async def test_ffmpeg_makes_the_preview_video_in_the_sandbox(tmp_path: Path) -> None:
    frames = tmp_path / "job" / "frames"
    frames.mkdir(parents=True)
    for frame in range(1, 11):
        write_png(frames / f"{frame:06d}.png", 64, 48, (frame * 20, 40, 200 - frame * 10))
    video = tmp_path / "job" / "preview" / "shot.mp4"
    command = {"name": "frames-to-video", "total_step_count": 1, "parameters": {
        "exe": "ffmpeg", "exeArgs": "-hide_banner -loglevel error", "fps": 24, "argsBefore": [],
        "inputGlob": str(frames / "*.png"), "outputFile": str(video), "args": ["-c:v", "mpeg4", "-y"]}}
    outcome, log = await _run(WorkerConfig(data_dir=tmp_path / "data"), [command])
    assert outcome is TaskOutcome.COMPLETED, log
    assert "going to run: " + BWRAP in log
    probe = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                            "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", str(video)],
                           capture_output=True, text=True, check=True)
    assert probe.stdout.strip() == "10"


async def test_cancelling_a_sandboxed_render_kills_blender_inside(scene: Path, tmp_path: Path) -> None:
    first_frame = asyncio.Event()

    class Outputs(RecordingOutputs):
        def queue_image(self, task_id: str, path: Path) -> None:
            super().queue_image(task_id, path)
            first_frame.set()

    task = make_task([_render(scene, tmp_path / "out", frames="1..500")])
    sink = RecordingSink()
    run = asyncio.create_task(TaskRunner(sink, WorkerConfig(data_dir=tmp_path / "data"), Outputs()).run(task))
    await asyncio.wait_for(first_frame.wait(), 60)
    blenders = [p for p in psutil.Process().children(recursive=True) if "blender" in p.name().lower()]
    assert blenders and all(any(a.name() == "bwrap" for a in p.parents()) for p in blenders), sink.log
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not [p.pid for p in blenders if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
