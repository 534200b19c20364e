#!/usr/bin/env python3
"""A fake `blender` for unit tests of the worker's output parsing.

It understands the few command-line options a render job uses (`-b`, a .blend path,
`--render-output`, `--render-format`, `--render-frame A..B` / `A,B`) and prints Blender-like
progress: `Fra:` lines, `Saved: '<file>'`, ` Time: ...`, then "Blender quit". For every frame it
writes a small real PNG (stdlib only). Extra options for tests:

  --fake-exit-code N      exit with N after rendering
  --fake-blender5         prefix lines like Blender 5 ("00:00.123  render  | ...")
  --fake-frame-sleep S    sleep S seconds per frame (to test cancellation)
  --fake-skip-existing    print "skipping existing frame" for frames whose file exists
  --fake-long-line N      print one line of N characters first

Warm mode: with `--python <script>` and `TABLAO_WARM_NONCE` set (how the worker starts a warm
Blender), it answers the control script's protocol instead of rendering `--render-frame`: a
`ready` line, then one `done` line per `{"op": "render"}` request on stdin. Test knobs come from
the environment: FAKE_BLENDER_CRASH_FRAME (exit 3 on that frame), FAKE_BLENDER_FRAME_SLEEP
(seconds per frame), FAKE_BLENDER_MOVIE (the scene writes a movie).
"""

from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
import zlib
from pathlib import Path


def write_png(path: Path, width: int, height: int, rgb: tuple[int, int, int]) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    row = b"\x00" + bytes(rgb) * width
    raw = row * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(png)


def parse_frames(spec: str) -> list[int]:
    frames: list[int] = []
    for part in spec.split(","):
        if ".." in part:
            start, end = part.split("..")
            frames.extend(range(int(start), int(end) + 1))
        elif part:
            frames.append(int(part))
    return frames


def frame_path(pattern: str, frame: int) -> Path:
    """Blender's rule: the first run of '#' becomes the zero-padded frame; no '#' appends 4 digits."""
    if "#" in pattern:
        start = pattern.index("#")
        count = len(pattern[start:]) - len(pattern[start:].lstrip("#"))
        pattern = pattern[:start] + str(frame).zfill(count) + pattern[start + count :]
    else:
        pattern += str(frame).zfill(4)
    return Path(pattern + ".png")


def main() -> int:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("-b", "--background", action="store_true")
    parser.add_argument("-y", action="store_true")
    parser.add_argument("--factory-startup", action="store_true")
    parser.add_argument("--render-output", "-o", default="/tmp/fake-blender-####")
    parser.add_argument("--render-format", "-F", default="PNG")
    parser.add_argument("--render-frame", "-f", default="1")
    parser.add_argument("--scene", "-S", default="Scene")
    parser.add_argument("--python-expr", default="")
    parser.add_argument("--python", default="")
    parser.add_argument("--fake-exit-code", type=int, default=0)
    parser.add_argument("--fake-blender5", action="store_true")
    parser.add_argument("--fake-frame-sleep", type=float, default=0.0)
    parser.add_argument("--fake-skip-existing", action="store_true")
    parser.add_argument("--fake-long-line", type=int, default=0)
    args, rest = parser.parse_known_args()
    blendfile = next((a for a in rest if a.endswith(".blend")), "untitled.blend")

    started = time.monotonic()

    def out(text: str) -> None:
        if args.fake_blender5:
            # Blender 5 style: "00:01.250  render           | Fra: 17 | Mem: 1M | Sample 1/2".
            minutes, seconds = divmod(time.monotonic() - started, 60)
            text = text.strip().replace("Fra:", "Fra: ")
            text = f"{int(minutes):02d}:{seconds:06.3f}  render           | {text}"
        print(text, flush=True)

    print("Blender 3.4.1 (hash 55485cb379f7 built 2023-01-01 00:00:00)", flush=True)
    print(f'Read blend: "{blendfile}"', flush=True)
    if args.fake_long_line:
        print("x" * args.fake_long_line, flush=True)
    nonce = os.environ.get("TABLAO_WARM_NONCE")
    if args.python and nonce:
        return warm_loop(nonce, args, out)
    for frame in parse_frames(args.render_frame):
        path = frame_path(args.render_output, frame)
        if args.fake_skip_existing and path.exists():
            out(f'skipping existing frame "{path}"')
            continue
        for step in ("Syncing Cube", "Updating Shaders", "Sample 1/2", "Sample 2/2", "Finished"):
            out(
                f"Fra:{frame} Mem:9.15M (Peak 10.83M) | Time:00:00.00 | Mem:0.00M, Peak:0.00M | "
                f"{args.scene}, ViewLayer | {step}"
            )
            if args.fake_frame_sleep:
                time.sleep(args.fake_frame_sleep / 5)
        write_png(path, 32, 32, (frame * 40 % 256, 100, 200))
        out(f"Saved: '{path}'")
        out(" Time: 00:00.01 (Saving: 00:00.00)")
        print(flush=True)
    print(flush=True)
    print("Blender quit", flush=True)
    return args.fake_exit_code


def warm_loop(nonce: str, args: argparse.Namespace, out) -> int:
    movie = bool(os.environ.get("FAKE_BLENDER_MOVIE"))
    print(f"{nonce} ready " + json.dumps({"pid": os.getpid(), "scene": args.scene, "libraries": [],
                                          "movie": movie}), flush=True)
    crash = int(os.environ.get("FAKE_BLENDER_CRASH_FRAME", "-1"))
    pause = float(os.environ.get("FAKE_BLENDER_FRAME_SLEEP", "0"))
    for line in sys.stdin:
        request = json.loads(line)
        if request.get("op") != "render":
            return 0
        frame = int(request["frame"])
        out(f"Fra:{frame} Mem:9.15M (Peak 10.83M) | Time:00:00.00 | {args.scene}, ViewLayer | Sample 1/1")
        if frame == crash:
            os._exit(3)
        time.sleep(pause)
        path = frame_path(args.render_output, frame)
        write_png(path, 32, 32, (frame * 40 % 256, 100, 200))
        out(f"Saved: '{path}'")
        out(" Time: 00:00.01 (Saving: 00:00.00)")
        print(f"{nonce} done " + json.dumps({"frame": frame, "ok": True}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
