"""Bench: the Manager's resident memory while a worker posts picture bombs and frames at the pixel limit.

Run by hand (Linux; it reads /proc):
`.venv/bin/python bench/picture_bomb.py [--bombs 3] [--frames 5] [--workers 6]`.

Starts a Manager in its own process (`bench/_harness.py`), signs up workers through the worker API
(HTTP Basic, as any worker would), gives each a task, then posts to `output-produced`:

1. the picture bomb of the security finding, a 13,000 x 13,000 16-bit RGBA PNG of 1.3 MB, `--bombs` times;
2. frames at the default pixel limit (7680 x 4320, 8K UHD), `--frames` times each: a JPEG, a progressive
   JPEG, an 8-bit RGBA PNG, a 16-bit RGBA PNG and a JPEG of noise near the 25 MiB byte limit; then
   1920 x 1080 JPEGs as our own worker sends them;
3. the 8-bit RGBA 8K PNG from `--workers` workers at once (each with a task of its own job), where the
   queue of three fills and the rest are told 429.

For each phase it prints the HTTP answers, the Manager's peak resident memory (VmHWM, reset before the
phase) and its RSS after, both as MiB over the idle figure, then the peak RSS of the processes it started
during the phase (the image decoders; sampled every 10 ms) and the phase's wall time. Asserts nothing.
"""

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import io
import json
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._harness import ManagerProcess  # noqa: E402
from tests import picture_files  # noqa: E402

MIB = 2**20
LIMIT_FRAME = (7680, 4320)


def _status_kib(pid: int) -> dict[str, int]:
    fields = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                fields[key] = int(value.split()[0])
    return fields


def rss_mib(pid: int) -> float:
    return _status_kib(pid)["VmRSS"] / 1024


def peak_mib(pid: int) -> float:
    return _status_kib(pid)["VmHWM"] / 1024


def reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as fh:
        fh.write("5")  # resets VmHWM to the current RSS


class ChildSampler:
    """Peak RSS of the processes a process starts while this runs (its decoders), sampled in a thread."""

    def __init__(self, pid: int):
        self.proc = psutil.Process(pid)
        self.before = {child.pid for child in self.proc.children(recursive=True)}  # e.g. the job compiler
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for child in self.proc.children(recursive=True):
                if child.pid in self.before:
                    continue
                with contextlib.suppress(psutil.Error):
                    total += child.memory_info().rss
            self.peak = max(self.peak, total / MIB)
            time.sleep(0.01)

    def __enter__(self) -> ChildSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class Worker:
    """Just enough of the worker API over urllib: sign up, claim a task, post images."""

    def __init__(self, url: str):
        self.url = url
        self.auth = ""

    def call(self, method: str, path: str, body: bytes | None = None, content_type: str = "application/json"):
        headers = {"Content-Type": content_type}
        if self.auth:
            headers["Authorization"] = self.auth
        req = urllib.request.Request(self.url + path, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, resp.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, path: str, body: dict):
        status, raw = self.call("POST", path, json.dumps(body).encode())
        return status, (json.loads(raw) if raw else None)

    def sign_up(self) -> None:
        secret, types = secrets.token_hex(16), ["misc"]
        _, body = self.json("/api/v3/worker/register-worker", {
            "secret": secret, "platform": "linux", "supported_task_types": types, "name": "bomber"})
        self.auth = "Basic " + base64.b64encode(f"{body['uuid']}:{secret}".encode()).decode()
        self.json("/api/v3/worker/sign-on", {"name": "bomber", "supported_task_types": types,
                                             "software_version": "bench"})
        self.json("/api/v3/worker/state-changed", {"status": "awake"})

    def claim(self) -> str:
        status, task = self.json("/api/v3/worker/task", {})
        assert status == 200, (status, task)
        return task["uuid"]

    def post_image(self, task_id: str, data: bytes, content_type: str) -> tuple[int, str]:
        status, raw = self.call("POST", f"/api/v3/worker/task/{task_id}/output-produced", data, content_type)
        try:
            message = json.loads(raw).get("message", "") if raw else ""
        except ValueError:
            message = raw[:100].decode(errors="replace")
        return status, message


def submit_job(url: str) -> None:
    job = {"name": "picture bomb", "type": "echo-sleep-test", "priority": 50, "submitter_platform": "linux",
           "settings": {"message": "hi", "sleep_duration_seconds": 0, "sleep_repeats": 1}}
    req = urllib.request.Request(url + "/api/v3/jobs", data=json.dumps(job).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=30).read()


def wait_quiet(pid: int, seconds: float = 1.0) -> None:
    """Until the Manager has used under 5% of a core for `seconds` (its queued images are done)."""
    proc = psutil.Process(pid)
    proc.cpu_percent()
    while proc.cpu_percent(interval=seconds) > 5:
        pass


def phase(manager: ManagerProcess, posters: list[tuple[Worker, str]], idle: float, name: str,
          data: bytes, content_type: str, times: int) -> None:
    """Each (worker, task) posts `data` `times` times, one after the other; the workers all at once."""
    pid = manager.proc.pid
    reset_peak(pid)
    answers: collections.Counter[str] = collections.Counter()

    def post_all(worker: Worker, task_id: str) -> None:
        for _ in range(times):
            status, message = worker.post_image(task_id, data, content_type)
            answers[f"{status} {message[:70]}".strip()] += 1

    started = time.monotonic()
    with ChildSampler(pid) as children:
        threads = [threading.Thread(target=post_all, args=poster) for poster in posters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wait_quiet(pid)
    took = time.monotonic() - started
    name += f" x{times}" + (f" from {len(posters)} workers at once" if len(posters) > 1 else "")
    print(f"{name:<46} {len(data) / MIB:5.1f} MiB: peak +{peak_mib(pid) - idle:6.1f} MiB, "
          f"after +{rss_mib(pid) - idle:6.1f} MiB; decoder children {children.peak:5.0f} MiB; {took:5.1f} s")
    for answer, count in answers.items():
        print(f"    {count} x {answer}")


def noisy_jpeg(size: tuple[int, int]) -> bytes:
    """A frame of film grain: about 22 MiB as JPEG, near the 25 MiB the Manager takes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.merge("RGB", [Image.effect_noise(size, 60) for _ in range(3)]).save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bombs", type=int, default=3)
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--workers", type=int, default=6, help="for the last phase, posting at once")
    args = parser.parse_args()

    print("making the images ...", flush=True)
    bomb = picture_files.picture_bomb()
    frames = [
        ("8K JPEG", picture_files.frame(LIMIT_FRAME, "JPEG", quality=90), "image/jpeg"),
        ("8K progressive JPEG", picture_files.frame(LIMIT_FRAME, "JPEG", quality=90, progressive=True),
         "image/jpeg"),
        ("8K PNG, 8-bit RGBA", picture_files.frame(LIMIT_FRAME, "PNG", "RGBA", compress_level=1), "image/png"),
        ("8K PNG, 16-bit RGBA", picture_files.blank_png(*LIMIT_FRAME), "image/png"),
        ("8K JPEG of noise (the byte limit's size)", noisy_jpeg(LIMIT_FRAME), "image/jpeg"),
        ("1920x1080 JPEG (our worker's preview)", picture_files.frame((1920, 1080), "JPEG", quality=85),
         "image/jpeg"),
    ]
    with ManagerProcess() as manager:
        posters = []
        for _ in range(args.workers):  # a job each: every job's first task can be claimed at once
            submit_job(manager.url)
            worker = Worker(manager.url)
            worker.sign_up()
            posters.append((worker, worker.claim()))
        time.sleep(2)
        wait_quiet(manager.proc.pid)
        idle = rss_mib(manager.proc.pid)
        print(f"Manager idle: {idle:.1f} MiB RSS")
        phase(manager, posters[:1], idle, "picture bomb 13000x13000 16-bit RGBA", bomb, "image/png", args.bombs)
        for name, data, content_type in frames:
            phase(manager, posters[:1], idle, name, data, content_type, args.frames)
        phase(manager, posters, idle, "8K PNG, 8-bit RGBA", frames[2][1], "image/png", args.frames)


if __name__ == "__main__":
    main()
