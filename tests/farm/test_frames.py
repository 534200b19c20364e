"""Frame lists, frame checks, the naming rule, the layout and the ETA: pure parts of `farm`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PIL import Image

from app.api.jobs import Job, TaskSummary
from app.farm.errors import Refused, UsageError
from app.farm.frames import NamingRule, check_frame, format_ranges, parse_frames
from app.farm.layout import Layout
from app.farm.manage import eta_seconds


def test_frame_lists_round_trip():
    assert parse_frames("1-3, 7,9..10") == [1, 2, 3, 7, 9, 10]
    assert format_ranges([7, 1, 2, 3, 9, 10]) == "1-3,7,9-10"
    assert format_ranges([]) == ""
    with pytest.raises(ValueError):
        parse_frames("5-1")


def test_frame_checks(tmp_path: Path):
    good, flat, empty, junk = (tmp_path / n for n in ("good.png", "flat.png", "empty.png", "junk.png"))
    image = Image.new("RGB", (4, 4), (0, 0, 0))
    image.putpixel((1, 1), (200, 10, 10))
    image.save(good)
    Image.new("RGB", (4, 4), (0, 0, 0)).save(flat)
    empty.write_bytes(b"")
    junk.write_bytes(b"not a png at all")
    assert check_frame(good, 1, check_black=True) is None
    assert check_frame(flat, 2, check_black=False) is None
    assert check_frame(flat, 2, check_black=True).problem == "flat"
    assert check_frame(empty, 3, False).problem == "empty"
    assert check_frame(junk, 4, False).problem == "unreadable"
    assert check_frame(tmp_path / "nope.png", 5, False).problem == "missing"


def test_naming_rule():
    assert NamingRule("<job>_<frame>.<ext>").name("r1", "shot", 7, ".png") == "shot_000007.png"
    assert NamingRule("<release>-<job>.<frame:4>.<ext>").name("r1", "a", 12, ".exr") == "r1-a.0012.exr"
    for bad in ("<job>.png", "<job>/<frame>.png", "<jobname>_<frame>.png"):
        with pytest.raises(UsageError):
            NamingRule(bad)


def test_layout_proposes_unused_dated_names_and_refuses_unknown_releases(tmp_path: Path):
    layout = Layout(tmp_path)
    assert {p.name for p in layout.ensure()} == {"quick", "releases", "dist", "archives"}
    day = datetime(2026, 11, 27)
    assert layout.propose_release_name(day) == "2026-11-27"
    layout.create_release("2026-11-27")
    assert layout.propose_release_name(day) == "2026-11-27.2"
    with pytest.raises(Refused, match="unknown release 'nope'.*2026-11-27"):
        layout.existing_release("nope")
    with pytest.raises(UsageError):
        layout.release("../etc")


def _task(status: str, updated: datetime) -> TaskSummary:
    return TaskSummary(id="t", name="render-1", status=status, index_in_job=0, priority=50, task_type="blender",
                       updated=updated.isoformat(), steps_completed=0, steps_total=1)


def test_eta_from_the_pace_so_far():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job(id="j", name="j", type="t", priority=50, status="active", activity="", created=start.isoformat(),
              updated="", steps_completed=0, steps_total=0, submitter_platform="linux")
    tasks = [_task("completed", start + timedelta(seconds=30)), _task("completed", start + timedelta(seconds=60)),
             _task("active", start), _task("queued", start)]
    assert eta_seconds(job, tasks, start) == pytest.approx(60.0)
    assert eta_seconds(job, [_task("queued", start)], start) is None
    assert eta_seconds(job, [_task("completed", start)], start) == 0.0
