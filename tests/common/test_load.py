"""The load of the artist's own programs: real processes measured, the hold rule, nvidia-smi parsing."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil

from app.common.load import NO_GPU, LoadHold, LoadReading, LoadSampler, parse_nvidia_smi, read_nvidia_gpu
from tests.fakes.burner import start_foreign_burner, stop_burner


def _sample_until(sampler: LoadSampler, predicate, what: str, timeout: float = 60.0) -> LoadReading:
    deadline = time.monotonic() + timeout
    sampler.sample()
    while True:
        time.sleep(0.5)
        reading = sampler.sample()
        if reading.others_cpu is not None and predicate(reading):
            return reading
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; last {reading}")


def test_a_foreign_program_burning_cpu_counts_as_the_artists_load():
    pid = start_foreign_burner()
    try:
        assert pid not in {p.pid for p in psutil.Process().children(recursive=True)}
        reading = _sample_until(LoadSampler(gpu=False), lambda r: r.others_cpu > 10, "the burner seen as others' load")
        assert reading.gpu is None and reading.gpu_note == ""
        assert "CPU" in reading.describe()
    finally:
        stop_burner(pid)


def test_the_workers_own_children_are_not_the_artists_load():
    child = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        reading = _sample_until(LoadSampler(gpu=False), lambda r: r.own_cpu > 10, "the own child counted as ours")
        assert reading.own_cpu > 10
        # While the worker's own tree renders, the GPU is not blamed on the artist.
        sampler = LoadSampler(gpu=True, gpu_reader=lambda: (99.0, ""))
        assert sampler.sample().gpu_note == "GPU not counted while this worker renders"
    finally:
        child.kill()
        child.wait()


def test_the_hold_starts_above_a_limit_and_lets_go_after_calm_readings():
    hold = LoadHold(cpu_limit=30, gpu_limit=50, release_after=2)
    assert hold.step(LoadReading(None, None)) == ""           # nothing known yet: no hold
    assert hold.step(LoadReading(10, 1)) == ""
    assert hold.step(LoadReading(45, 1)) == "your programs use 45% CPU (limit 30%)"
    assert hold.step(LoadReading(5, 1)) != ""                 # one calm reading is not enough
    assert hold.step(LoadReading(5, 1)) == ""
    assert "GPU is 80% busy" in hold.step(LoadReading(5, 1, gpu=80.0))
    assert LoadHold(cpu_limit=30, gpu_limit=None).step(LoadReading(5, 1, gpu=99.0)) == ""


def test_nvidia_smi_output_and_its_absence_are_said():
    assert parse_nvidia_smi("12\n87\n") == (87.0, "")
    assert parse_nvidia_smi("[N/A]\n")[0] is None
    assert read_nvidia_gpu(run=lambda args: " 42 \n") == (42.0, "")

    def missing(args):
        raise FileNotFoundError("nvidia-smi")

    value, note = read_nvidia_gpu(run=missing)
    assert value is None and "nvidia-smi failed" in note
    if subprocess.run(["which", "nvidia-smi"], capture_output=True).returncode != 0:
        assert read_nvidia_gpu() == (None, NO_GPU)
        # A worker process with no children (not rendering): the GPU is read, and its absence said.
        # (Not this test process: in a full run it has children, which count as a render.)
        idle_worker = subprocess.Popen(["sleep", "60"])
        try:
            assert "no GPU reading" in LoadSampler(root=idle_worker.pid).sample().describe()
        finally:
            idle_worker.kill()
            idle_worker.wait()


def test_a_foreign_burner_holds_the_worker_with_a_low_limit():
    pid = start_foreign_burner()
    try:
        sampler, hold = LoadSampler(gpu=False), LoadHold(cpu_limit=5.0, gpu_limit=None)
        reading = _sample_until(sampler, lambda r: r.others_cpu > 5.0, "the burner's load")
        assert hold.step(reading).startswith("your programs use")
    finally:
        stop_burner(pid)
