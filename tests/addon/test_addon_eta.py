"""The add-on's followed-job box shows the Manager's ETA (the figure every client shows), also for a
job none of whose tasks finished; the words, without Blender, and the box, in a real Blender."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.addon.conftest import needs_blender, run_blender, steps_named
from tests.conftest import echo_job
from tests.sim_workers import SimWorker, run_job, submit, workers_of

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "addon"))

from tablao_blender._api.jobs import Job  # noqa: E402
from tablao_blender.eta_words import eta_line  # noqa: E402

JOB = {"id": "j", "name": "shot", "type": "echo-sleep-test", "priority": 50, "status": "active", "activity": "",
       "created": "2026-01-01T00:00:00Z", "updated": "2026-01-01T00:00:00Z", "steps_completed": 1,
       "steps_total": 4, "submitter_platform": "linux"}
ETA = {"at": "2026-01-01T00:10:00Z", "low": "2026-01-01T00:08:00Z", "high": "2026-01-01T00:20:00Z",
       "seconds": 600, "computed": "2026-01-01T00:00:00Z", "source": "file", "basis": 12,
       "workers": [{"id": "w", "name": "w", "speed": 1.2}]}


def test_the_eta_line_counts_down_to_the_managers_times() -> None:
    job = Job.from_json({**JOB, "eta": ETA})
    at = datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
    assert eta_line(job, at) == "ETA: 8 min (6 min – 18 min), from earlier jobs of this .blend file"
    assert eta_line(job, datetime(2026, 1, 1, 1, 0, tzinfo=UTC)).startswith("ETA: 0 s (0 s – 0 s)")
    assert eta_line(Job.from_json(JOB), at) == ""  # the Manager gave none (or an older Manager)
    assert eta_line(Job.from_json({**JOB, "eta": ETA, "status": "paused"}), at) == ""


@needs_blender
@pytest.mark.slow
async def test_the_followed_job_shows_the_managers_eta_before_any_task_finished(manager, tmp_path: Path) -> None:
    http = (await workers_of(manager, "sim-1"))[0]
    try:
        await run_job(manager, await submit(manager, echo_job(repeats=3)), [SimWorker(http, 0.2)])
        waiting = await submit(manager, echo_job(repeats=3))
        result = await run_blender(tmp_path, {"url": manager.url, "project": str(tmp_path / "work" / "film"),
                                              "steps": [("follow", {"job_id": waiting})]})
        _, job = await manager.request("GET", f"/api/v3/jobs/{waiting}")
    finally:
        await http.close()
    follow = steps_named(result, "follow")[0]
    assert follow["status"] == "queued"
    assert follow["eta"]["source"] == "type" and follow["eta"]["at"] <= job["eta"]["at"]
    assert follow["eta_line"].startswith("ETA: ") and follow["eta_line"].endswith("from earlier jobs of this type")
