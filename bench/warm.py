"""Bench: warm Blender against cold Blender, side by side on one worker.

Run by hand: `.venv/bin/python bench/warm.py [--quick]`. Prints its figures; asserts nothing.
One real Manager process and one real `tablao worker` process (warm Blender on); each job runs
first cold (the command parameter `warm: false`), then warm, same scene, same worker:
1. a tiny Cycles scene (64x36, 1 sample), 48 frames, chunk size 1 and 4;
2. a scene slow to load but quick to render (a few hundred MB of generated mesh, hidden from
   render), 24 frames, chunk size 1 and 4.
Figures: wall time from submission to completion, per-task overhead ((wall - Blender's own render
time) / tasks, render time summed from the `Time:` lines of the task logs), the warm/cold ratio,
and whether every warm frame is pixel-identical to its cold twin.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import yaml
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._harness import ROOT, ManagerProcess  # noqa: E402

JOB_TYPE = """
const JOB_TYPE = {label: "Bench render", settings: [
  {key: "blendfile", type: "string", required: true},
  {key: "out", type: "string", required: true},
  {key: "frames", type: "string", required: true},
  {key: "chunk_size", type: "int32", default: 1},
  {key: "warm", type: "bool", default: true},
]};
function compileJob(job) {
  const s = job.settings;
  for (const chunk of frameChunker(s.frames, s.chunk_size)) {
    const params = {exe: "{blender}", exeArgs: "{blenderArgs}", argsBefore: [], blendfile: s.blendfile,
      args: ["--render-output", s.out + "/######", "--render-format", "PNG",
             "--render-frame", chunk.replaceAll("-", "..")]};
    if (!s.warm) params.warm = false;
    const task = author.Task(`render-${chunk}`, "blender");
    task.addCommand(author.Command("blender-render", params, 1));
    job.addTask(task);
  }
}
"""

SCENE = """
import bpy
scene = bpy.context.scene
scene.render.engine = 'CYCLES'
scene.cycles.device = 'CPU'
scene.cycles.samples = 1
scene.cycles.use_denoising = False
scene.render.resolution_x = 64
scene.render.resolution_y = 36
scene.render.resolution_percentage = 100
scene.frame_start = 1
scene.frame_end = 48
scene.render.image_settings.file_format = 'PNG'
cube = bpy.data.objects['Cube']
cube.keyframe_insert('rotation_euler', frame=1)
cube.rotation_euler[2] = 3.14
cube.keyframe_insert('rotation_euler', frame=48)
if {heavy}:
    bpy.ops.mesh.primitive_grid_add(x_subdivisions={grid}, y_subdivisions={grid}, location=(0, 0, -50))
    bpy.context.object.hide_render = True
bpy.context.preferences.filepaths.use_file_compression = False
bpy.ops.wm.save_as_mainfile(filepath=r'{path}', compress=False)
"""

_TIME = re.compile(r"> \s*Time: (\d+):(\d+\.\d+)")


def make_scene(path: Path, heavy: bool, grid: int) -> float:
    t0 = time.perf_counter()
    subprocess.run(["blender", "-b", "--factory-startup", "--python-expr",
                    SCENE.format(heavy=heavy, grid=grid, path=path)], check=True, capture_output=True)
    return time.perf_counter() - t0


def api(manager: ManagerProcess, method: str, path: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(manager.url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        raw = resp.read()
        return json.loads(raw) if raw and resp.headers.get_content_type() == "application/json" else raw.decode()


def run_job(manager: ManagerProcess, blend: Path, out: Path, frames: int, chunk: int, warm: bool) -> dict:
    t0 = time.perf_counter()
    job = api(manager, "POST", "/api/v3/jobs", {
        "name": f"bench {'warm' if warm else 'cold'}", "type": "bench-render", "priority": 50,
        "submitter_platform": "linux",
        "settings": {"blendfile": str(blend), "out": str(out), "frames": f"1-{frames}",
                     "chunk_size": chunk, "warm": warm}})
    while (status := api(manager, "GET", f"/api/v3/jobs/{job['id']}")["status"]) not in ("completed", "failed"):
        time.sleep(0.1)
    wall = time.perf_counter() - t0
    tasks = api(manager, "GET", f"/api/v3/jobs/{job['id']}/tasks")["tasks"]
    render_s, modes = 0.0, set()
    for task in tasks:
        log = api(manager, "GET", f"/api/v3/tablao/tasks/{task['id']}/log")
        render_s += sum(int(m) * 60 + float(s) for m, s in _TIME.findall(log))
        modes.add("cold" if "cold Blender:" in log else "warm")
    return {"status": status, "wall": wall, "tasks": len(tasks), "render": render_s,
            "overhead": (wall - render_s) / len(tasks), "modes": modes}


def identical(cold: Path, warm: Path, frames: int) -> str:
    same = 0
    for n in range(1, frames + 1):
        with Image.open(cold / f"{n:06d}.png") as a, Image.open(warm / f"{n:06d}.png") as b:
            same += a.size == b.size and a.mode == b.mode and a.tobytes() == b.tobytes()
    return f"{same}/{frames} identical"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer frames, smaller heavy scene")
    parser.add_argument("--grid", type=int, default=1800, help="heavy scene: grid subdivisions per side")
    args = parser.parse_args()
    tiny_frames, heavy_frames = (12, 8) if args.quick else (48, 24)
    grid = 800 if args.quick else args.grid
    manager = ManagerProcess()
    # The Manager reads job types at start: the script must be in place before.
    (manager.root / "scripts").mkdir()
    (manager.root / "scripts" / "bench_render.js").write_text(JOB_TYPE)
    with manager:
        root = manager.root
        tiny, heavy = root / "shared" / "tiny.blend", root / "shared" / "heavy.blend"
        make_scene(tiny, False, 0)
        made = make_scene(heavy, True, grid)
        print(f"heavy scene: {heavy.stat().st_size / 2**20:.0f} MB (made in {made:.1f}s)")
        wdir = root / "worker"
        wdir.mkdir()
        cfg = wdir / "worker.yaml"
        cfg.write_text(yaml.safe_dump({"manager_url": manager.url, "worker_name": "bench",
                                       "data_dir": str(wdir / "data")}))
        worker = subprocess.Popen([sys.executable, "-m", "app", "worker", "--headless", "--quiet",
                                   "--worker-config", str(cfg)], cwd=ROOT,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            print(f"{'case':<26}{'mode':<6}{'tasks':>6}{'wall s':>9}{'render s':>10}{'overhead s/task':>17}"
                  f"{'speed-up':>10}  pixels")
            for label, blend, frames in (("tiny", tiny, tiny_frames), ("slow-to-load", heavy, heavy_frames)):
                for chunk in (1, 4):
                    case = f"{label} {frames}f chunk {chunk}"
                    out = root / "out" / f"{label}-{chunk}"
                    cold = run_job(manager, blend, out / "cold", frames, chunk, warm=False)
                    warm = run_job(manager, blend, out / "warm", frames, chunk, warm=True)
                    pixels = identical(out / "cold", out / "warm", frames)
                    for mode, r in (("cold", cold), ("warm", warm)):
                        ratio = f"{cold['wall'] / r['wall']:.1f}x" if mode == "warm" else ""
                        note = "" if r["status"] == "completed" else f" ({r['status']})"
                        print(f"{case:<26}{mode:<6}{r['tasks']:>6}{r['wall']:>9.1f}{r['render']:>10.1f}"
                              f"{r['overhead']:>17.2f}{ratio:>10}  {pixels if mode == 'warm' else ''}"
                              f"{'' if r['modes'] == {mode} else ' modes ' + str(r['modes'])}{note}",
                              flush=True)
        finally:
            worker.terminate()
            worker.wait(20)


if __name__ == "__main__":
    main()
