"""How light the tray worker is: its CPU share and resident memory, idle-connected and rendering.

Starts a Manager (`bench/_harness.py`), then `tablao worker --manager URL` WITHOUT --headless (the
desktop app in Worker mode: Qt, the worker window's controller following the event stream, and the
worker itself, one process) under the offscreen Qt platform. It measures that process only (not
the Blender it starts) for `--seconds` while idle and connected, then while it renders a small
Blender job. Targets: under 0.5% of one core and under 120 MB resident when idle, so a tray worker
left running all day on an artist's workstation is not felt.

    .venv/bin/python bench/idle.py [--seconds 60] [--load-hold]

`--load-hold` switches on "stay asleep while my own programs are busy" (its QSettings, at a 100%
limit so it never holds) to show what its sampling costs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._harness import ManagerProcess  # noqa: E402


def measure(proc: psutil.Process, seconds: float) -> tuple[float, float, float]:
    """(CPU % of one core, mean RSS MB, peak RSS MB) of the process itself over `seconds`."""
    t0, c0 = time.monotonic(), proc.cpu_times()
    samples = []
    while time.monotonic() - t0 < seconds:
        samples.append(proc.memory_info().rss / 2**20)
        time.sleep(1.0)
    c1, t1 = proc.cpu_times(), time.monotonic()
    cpu = (c1.user + c1.system - c0.user - c0.system) / (t1 - t0) * 100
    return cpu, sum(samples) / len(samples), max(samples)


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def post(url: str, body) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"null")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--load-hold", action="store_true", help="with the load hold on (limit 100%%)")
    args = parser.parse_args()
    from tests.e2e.farm import blender_job, make_blend

    with ManagerProcess() as manager, tempfile.TemporaryDirectory(prefix="tablao-idle-") as tmp:
        cfg = Path(tmp) / "worker.yaml"
        cfg.write_text(yaml.safe_dump({"worker_name": "bench-tray", "data_dir": str(Path(tmp) / "data")}))
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen", TABLAO_HOME=str(Path(tmp) / "home"),
                   PYTHONPATH=str(ROOT), XDG_CONFIG_HOME=str(Path(tmp) / "xdg"))
        if args.load_hold:
            ini = Path(tmp) / "xdg" / "Tablao" / "Tablao.conf"
            ini.parent.mkdir(parents=True)
            ini.write_text("[load]\nenabled=true\ncpu_percent=100\ngpu_percent=100\n")
        with open(Path(tmp) / "tray.log", "wb") as log:  # the worker keeps its own descriptor
            child = subprocess.Popen([sys.executable, "-m", "app", "worker", "--quiet",
                                      "--manager", manager.url, "--worker-config", str(cfg)],
                                     cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not any(w["name"] == "bench-tray" and w["status"] == "awake"
                          for w in get(manager.url + "/api/v3/worker-mgt/workers")["workers"]):
                if time.monotonic() > deadline or child.poll() is not None:
                    raise SystemExit("the tray worker did not sign on:\n" + (Path(tmp) / "tray.log").read_text()[-2000:])
                time.sleep(0.5)
            time.sleep(5.0)  # settle: imports done, snapshot fetched, event stream open
            proc = psutil.Process(child.pid)
            cpu, rss, peak = measure(proc, args.seconds)
            print(f"idle, connected{', load hold on' if args.load_hold else ''} ({args.seconds:.0f} s): cpu {cpu:.2f}% of one core, "
                  f"rss mean {rss:.0f} MB, peak {peak:.0f} MB  (targets: < 0.5%, < 120 MB)")
            shared = manager.root / "shared"
            blend = make_blend(shared / "bench" / "bench.blend", frames=200, samples=16, width=320, height=180)
            post(manager.url + "/api/v3/jobs", blender_job(blend, shared / "out", frames="1-200", chunk_size=10,
                                                           name="bench render"))
            time.sleep(5.0)
            cpu, rss, peak = measure(proc, args.seconds)
            print(f"rendering ({args.seconds:.0f} s): cpu {cpu:.2f}% of one core (the tray worker itself, not "
                  f"Blender), rss mean {rss:.0f} MB, peak {peak:.0f} MB")
        finally:
            kids = psutil.Process(child.pid).children(recursive=True) if child.poll() is None else []
            child.terminate()
            try:
                child.wait(30)
            except subprocess.TimeoutExpired:
                child.kill()
            _, alive = psutil.wait_procs(kids, timeout=10)  # the Blender it ran, before files go
            for kid in alive:
                kid.kill()


if __name__ == "__main__":
    main()
