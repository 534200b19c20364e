"""The ETA's arithmetic on its own (the store's part is tests/manager/test_job_eta.py): speeds against
the farm's average on the same work, the cost of a step, the hand-out of waiting tasks to the worker
free first, and a range that narrows with more runs."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from app.manager.jobs.job_eta import (
    NO_SPEEDS,
    JobFacts,
    Speeds,
    estimate,
    finish_time,
    spread,
    step_costs,
    worker_speeds,
)
from app.manager.persistence.run_stats import FarmWorker, Run, TaskLeft

NOW = dt.datetime(2026, 1, 1, 12, 0)


def run(worker: int, seconds: float, steps: int = 1, blend: str = "a.blend", task_type: str = "blender") -> Run:
    return Run(worker, seconds, steps, "simple-blender-render", task_type, blend, NOW, "other-job")


def test_a_worker_twice_as_slow_on_the_same_file_measures_half_the_speed():
    runs = [run(1, 10, 2), run(1, 10, 2), run(2, 20, 2), run(2, 20, 2)]
    speeds = worker_speeds(runs).overall
    assert speeds[1] / speeds[2] == pytest.approx(2)
    assert speeds[1] == pytest.approx(1.5) and speeds[2] == pytest.approx(0.75)  # the average is 7.5 s a step


def test_a_workers_speed_on_a_kind_of_work_is_its_own_there_and_its_overall_one_elsewhere():
    # Worker 2 is as fast as worker 1 on the video, three times as slow on the renders.
    runs = [run(1, 10), run(2, 30), run(1, 4, task_type="ffmpeg"), run(2, 4, task_type="ffmpeg")]
    speeds = worker_speeds(runs)
    render, video = ("a.blend", "blender"), ("a.blend", "ffmpeg")
    assert speeds.of(1, render) / speeds.of(2, render) == pytest.approx(3)
    assert speeds.of(1, video) == speeds.of(2, video) == pytest.approx(1)
    assert speeds.of(2, ("b.blend", "blender")) == pytest.approx(speeds.overall[2])  # never rendered b.blend
    assert speeds.of(3, render) == 1.0  # a worker with no runs


def test_speeds_compare_like_with_like_only():
    # Worker 1 rendered a heavy file, worker 2 a light one: neither is slower for it.
    speeds = worker_speeds([run(1, 100, blend="heavy.blend"), run(2, 1, blend="light.blend")])
    assert speeds.overall == {1: pytest.approx(1), 2: pytest.approx(1)}
    assert worker_speeds([run(1, 0), run(2, 5, steps=0)]) == NO_SPEEDS  # no time or no steps: nothing learnt


def test_a_steps_cost_is_what_it_would_take_an_average_worker():
    costs = step_costs([run(1, 10, 2), run(2, 20, 2)], Speeds({1: 1.5, 2: 0.75}, {}))
    assert costs == [("blender", 7.5), ("blender", 7.5)]


def test_waiting_tasks_go_to_the_worker_free_first():
    def even(i: int, task_type: str) -> float:
        return 1.0

    def first_twice_as_fast(i: int, task_type: str) -> float:
        return 2.0 if i == 0 else 1.0
    tasks = [(10.0, "blender")] * 4
    # Two workers of speed 1, one busy for 5 s more: four tasks of 10 s end at 20 and 25 s.
    assert finish_time([5.0, 0.0], even, tasks) == pytest.approx(25)
    # A worker twice as fast takes two tasks while the slow one takes one.
    assert finish_time([0.0, 0.0], first_twice_as_fast, tasks[:3]) == pytest.approx(10)
    assert finish_time([], even, tasks) == math.inf
    assert finish_time([3.0], even, []) == pytest.approx(3)


def test_the_range_narrows_with_more_runs_and_more_tasks_left():
    assert spread([10.0] * 4, 10) == pytest.approx(0.5)
    assert spread([10.0] * 100, 10) == pytest.approx(0.1)
    assert spread([5.0, 15.0] * 50, 100) == pytest.approx(0.1 + 0.5 / 10)
    assert spread([1.0], 1) == 0.9  # never wider than that


def _facts(left: list[TaskLeft], own: list[Run] = (), history: list[Run] = (), status: str = "active") -> JobFacts:
    return JobFacts("job", status, left, list(own), list(history), "file")


WORKERS = [FarmWorker(1, "u1", "fast", "awake", "blender,ffmpeg", NOW), FarmWorker(2, "u2", "slow", "awake", "blender", NOW)]


def test_an_estimate_counts_the_running_task_and_hands_out_the_rest():
    left = [TaskLeft("active", 2, 0, 1, NOW - dt.timedelta(seconds=4), "blender"),
            *[TaskLeft("queued", 2, 0, None, None, "blender")] * 3]
    own = [run(1, 10, 2, blend="x") for _ in range(3)]
    found = estimate(_facts(left, own), WORKERS, {1: 7}, 7, Speeds({1: 1.0}, {}), NOW)
    # The job's own tasks took 5 s a step; worker 1 runs one with 6 s left, and worker 2 is not counted
    # (it runs none of the job's tasks and finished none lately): 6 s, then three tasks of 10 s.
    assert found.seconds == pytest.approx(36) and found.source == "job" and found.basis == 3
    assert [w.name for w, _ in found.workers] == ["fast"]


def test_no_estimate_without_history_or_without_workers():
    left = [TaskLeft("queued", 1, 0, None, None, "blender")]
    assert estimate(_facts(left), WORKERS, {}, 7, NO_SPEEDS, NOW).startswith("no task of this job")
    history = [run(1, 4)]
    assert estimate(_facts(left, history=history), [], {}, 7, NO_SPEEDS, NOW) == "no awake worker takes its tasks"
    found = estimate(_facts(left, history=history), WORKERS, {}, 7, NO_SPEEDS, NOW)
    assert found.source == "file" and found.seconds == pytest.approx(4)  # two idle workers, one task
    assert estimate(_facts(left, history=history, status="paused"), WORKERS, {}, 7, NO_SPEEDS, NOW) == "the job is paused"
    assert estimate(_facts([], history=history), WORKERS, {}, 7, NO_SPEEDS, NOW) == "nothing left to render"
