"""A task's render statistics: Blender's `Time:` lines added up and its peak memory, sent with the
task's final status; nothing when no render line was seen."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.worker.commands.blender import BlenderOutputParser
from app.worker.config import WorkerConfig
from app.worker.render_stats import RenderStats, frame_seconds, memory_mb
from app.worker.task_runner import TaskOutcome, TaskRunner
from tests.worker.conftest import FAKES_READABLE
from tests.worker.recording import RecordingSink, make_task


@pytest.mark.parametrize(("line", "seconds"), [
    ("Time: 00:19.28 (Saving: 00:00.14)", 19.28), ("Time: 01:02:03.50 (Saving: 00:00.00)", 3723.5),
    ("Time: 12:00.00", 720.0), ("Time:00:00.05 | Mem:0.76M", 0.05), ("Fra:1 Time:00:00.05", None),
    ("Saved: 'x'", None),
])
def test_a_frames_time_line_reads_as_seconds(line: str, seconds: float | None) -> None:
    assert frame_seconds(line) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize(("line", "mb"), [
    ("Fra:1 Mem:9.90M (Peak 10.83M) | Time:00:00.05 | Mem:0.76M, Peak:0.76M | Scene", 10.83),
    ("Fra: 17 | Mem: 1699M | Finished", 1699.0), ("Fra:2 Mem:1.5G (Peak 2G) | x", 2048.0),
    ("Fra:3 | Sample 1/8", None),
])
def test_a_progress_lines_memory_is_its_highest_figure(line: str, mb: float | None) -> None:
    assert memory_mb(line) == (pytest.approx(mb) if mb is not None else None)


def test_the_parser_hands_out_frame_times_and_memory_behind_blender5s_prefix() -> None:
    parser, stats = BlenderOutputParser(), RenderStats()
    for line in ["00:01.250  render           | Fra: 17 | Mem: 1M | Updating Scene BVH",
                 "02:19.277  render           | Fra: 17 | Mem: 1699M | Finished",
                 "00:20.234  render           | Time: 00:19.28 (Saving: 00:00.14)",
                 "00:20.300  render           | Fra: 18 | Mem: 2316M | Sample 1/128",
                 "00:40.000  render           | Time: 00:19.70 (Saving: 00:00.14)"]:
        info = parser.parse(line)
        if info.frame_seconds is not None:
            stats.frame_took(info.frame_seconds)
        if info.memory_mb is not None:
            stats.memory_seen(info.memory_mb)
    assert stats.fields() == {"render_time_s": 38.98, "peak_memory_mb": 2316.0}
    assert RenderStats().fields() == {}


async def test_a_rendered_task_reports_its_render_time_and_peak_memory_when_completed(
        tmp_path: Path, fake_blender_argv: list[str]) -> None:
    sink = RecordingSink()
    params = {"exe": fake_blender_argv[0], "exeArgs": f"{fake_blender_argv[1]} -b", "blendfile": "/tmp/s.blend",
              "args": ["--render-output", str(tmp_path / "f_######"), "--render-format", "PNG",
                       "--render-frame", "1..3"]}
    task = make_task([{"name": "blender-render", "parameters": params, "total_step_count": 3}])
    runner = TaskRunner(sink, WorkerConfig(data_dir=tmp_path / "data", sandbox_read_paths=FAKES_READABLE),
                        max_log_age_s=0.05)
    assert await runner.run(task) is TaskOutcome.COMPLETED
    final = sink.payloads[-1]
    assert final["taskStatus"] == "completed"
    # The fake Blender prints "Time: 00:00.01" for each of its 3 frames and "(Peak 10.83M)".
    assert (final["render_time_s"], final["peak_memory_mb"]) == (0.03, 10.83)
    assert all("render_time_s" not in p for p in sink.payloads[:-1])


async def test_a_task_without_renders_sends_no_statistics(tmp_path: Path) -> None:
    sink = RecordingSink()
    task = make_task([{"name": "echo", "parameters": {"message": "Time: 00:01.00"}, "total_step_count": 0}])
    assert await TaskRunner(sink, WorkerConfig(data_dir=tmp_path)).run(task) is TaskOutcome.COMPLETED
    assert sink.payloads[-1] == {"taskStatus": "completed", "activity": "Completed"}
