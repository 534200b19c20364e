"""Runs INSIDE Blender (`--python` as the last argument): the warm Blender's control loop.

Not imported by the worker. Blender has loaded the file and applied every argument before this
script, exactly as a cold run would before `--render-frame`. Then it reads one JSON request per
line on stdin and answers with marker lines on stdout carrying the nonce from `TABLAO_WARM_NONCE`
(so Blender's own output can never be mistaken for an answer):

    {"op": "render", "frame": 12}  ->  <nonce> done {"frame": 12, "ok": true}
    {"op": "quit"} or end of input ->  the process exits at once

Frames render through `render.render(animation=True)` over a one-frame range, the same
`RE_RenderAnim` call `--render-frame` makes, so the output lines (`Fra:`, `Saved:`, `Time:`) and
the pixels are those of a cold run. Each answer comes after all C and Python output of the frame
is flushed, so the worker has read the frame's lines when it sees the answer.
"""

import ctypes
import json
import os
import sys

import bpy

NONCE = os.environ.get("TABLAO_WARM_NONCE", "")
_libc = ctypes.CDLL(None)


def _flush() -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    _libc.fflush(None)


def _answer(kind: str, data: dict) -> None:
    _flush()
    os.write(1, f"\n{NONCE} {kind} {json.dumps(data)}\n".encode())


def _ready() -> None:
    scene = bpy.context.scene
    libraries = sorted({bpy.path.abspath(lib.filepath) for lib in bpy.data.libraries if lib.filepath})
    images = sorted(
        {bpy.path.abspath(img.filepath) for img in bpy.data.images
         if img.source in {"FILE", "SEQUENCE"} and img.filepath and not img.packed_file}
    )
    _answer("ready", {
        "pid": os.getpid(),
        "blendfile": bpy.data.filepath,
        "scene": scene.name,
        "libraries": libraries + images,
        "movie": bool(scene.render.is_movie_format),
    })


def _render(frame: int) -> dict:
    scene = bpy.context.scene
    start, end = scene.frame_start, scene.frame_end
    try:
        scene.frame_start = frame
        scene.frame_end = frame
        bpy.ops.render.render(animation=True)
    except Exception as exc:  # noqa: BLE001 - reported to the worker, which fails the task
        print(f"Error: {exc}", flush=True)
        return {"frame": frame, "ok": False, "error": str(exc).strip()}
    finally:
        scene.frame_start = start
        scene.frame_end = end
    return {"frame": frame, "ok": True}


def main() -> None:
    _ready()
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        request = json.loads(line)
        if request.get("op") == "render":
            _answer("done", _render(int(request["frame"])))
        else:
            break
    _flush()
    os._exit(0)


main()
