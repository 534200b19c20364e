"""Reading a .blend by running Blender in the background: scenes, external files, evaluated settings,
the Python it carries (auto-run scripts, Python drivers) and output folders the farm would refuse.

`read_blend` starts `blender -b --factory-startup --python blender_probe.py -- INPUT.json`, which
opens the file itself (so a file Blender cannot open is a clear `BadInput`, not the default scene)
and prints one JSON line. `looks_like_blend` checks the header first, without starting Blender.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.submit.errors import BadInput, BlenderFailed, InvalidSetting

_log = logging.getLogger(__name__)

PROBE_SCRIPT = Path(__file__).with_name("blender_probe.py")
MARKER = "TABLAO_PROBE "

# Uncompressed, gzip (Blender < 3.0) and zstd (Blender 3.0+) blend files.
_MAGICS = (b"BLENDER", b"\x1f\x8b", b"\x28\xb5\x2f\xfd")


@dataclass(frozen=True, slots=True)
class SceneInfo:
    name: str
    frame_start: int
    frame_end: int
    frame_step: int
    fps: float
    file_format: str
    file_extension: str
    camera: str
    engine: str
    output_path: str  # the render output path, absolute
    output_dir: str  # the folder the scene renders to
    resolution: tuple[int, int, int] = (0, 0, 100)  # x, y, percentage

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> SceneInfo:
        return cls(doc["name"], int(doc["frame_start"]), int(doc["frame_end"]), int(doc["frame_step"]),
                   float(doc["fps"]), doc["file_format"], doc["file_extension"], doc["camera"], doc["engine"],
                   doc["output_path"], doc["output_dir"], tuple(doc.get("resolution") or (0, 0, 100)))

    @property
    def frames(self) -> str:
        return f"{self.frame_start}-{self.frame_end}"


@dataclass(frozen=True, slots=True)
class ExternalFile:
    """A file the blend file refers to. `absolute`: referred to by an absolute path (not `//`)."""

    path: Path
    raw: str
    exists: bool
    absolute: bool
    library: bool = False
    sequence: bool = False  # one file of an image sequence or UDIM set


@dataclass(frozen=True, slots=True)
class SceneScripts:
    """The Python a .blend carries (see `scene_policy.scan_scripts`): counts, and the first few names."""

    auto_run: int = 0  # text blocks registered to run when the file loads
    drivers: int = 0  # SCRIPTED drivers that are not simple expressions
    auto_run_names: tuple[str, ...] = ()
    driver_names: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, doc: dict[str, Any] | None) -> SceneScripts:
        doc = doc or {}
        auto_run, drivers = doc.get("auto_run") or {}, doc.get("drivers") or {}
        return cls(int(auto_run.get("count", 0)), int(drivers.get("count", 0)),
                   tuple(str(n) for n in auto_run.get("names") or ()),
                   tuple(str(n) for n in drivers.get("names") or ()))

    def to_json(self) -> dict[str, Any]:
        """The shape `scene_policy.scripts_warning` reads."""
        return {"auto_run": {"count": self.auto_run, "names": list(self.auto_run_names)},
                "drivers": {"count": self.drivers, "names": list(self.driver_names)}}

    def __bool__(self) -> bool:
        return bool(self.auto_run or self.drivers)


@dataclass(slots=True)
class BlendInfo:
    blendfile: Path
    scene: SceneInfo  # the scene to render
    scenes: list[SceneInfo]
    files: list[ExternalFile]
    evaluated: dict[str, Any] = field(default_factory=dict)  # setting key -> value of its `eval`
    implied: dict[str, Any] = field(default_factory=dict)  # setting key -> value the scene implies
    blender_version: str = ""
    scripts: SceneScripts = field(default_factory=SceneScripts)
    #: Setting key -> the folder the scene renders to, for output settings the farm's output roots
    #: made the probe move to its own folder ("" when the scene names none).
    redirected: dict[str, str] = field(default_factory=dict)
    #: What the scene needs of a worker (`scene_needs.read_needs`): the job's `requirements`.
    needs: dict[str, Any] = field(default_factory=dict)

    @property
    def missing(self) -> list[ExternalFile]:
        return [f for f in self.files if not f.exists]

    @property
    def dependencies(self) -> list[Path]:
        return [f.path for f in self.files if f.exists]


def looks_like_blend(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return False
    return head.startswith(_MAGICS)


def check_blendfile(path: Path) -> Path:
    """The absolute path of an existing .blend, or `BadInput` saying what is wrong with it."""
    path = Path(path).expanduser()
    if not path.exists():
        raise BadInput(f"{path} does not exist")
    if not path.is_file():
        raise BadInput(f"{path} is not a file")
    if not looks_like_blend(path):
        raise BadInput(f"{path} is not a .blend file")
    return path.absolute()


def find_blender(blender: str | None = None) -> str:
    exe = blender or os.environ.get("TABLAO_BLENDER") or "blender"
    found = shutil.which(exe)
    if not found:
        raise BlenderFailed(f"Blender is needed to read the file, but {exe!r} was not found; "
                            "set TABLAO_BLENDER or give its path")
    return found


async def read_blend(
    blendfile: Path,
    *,
    scene: str | None = None,
    jobname: str = "",
    settings: list[dict[str, Any]] | None = None,
    values: dict[str, Any] | None = None,
    skip: list[str] | None = None,
    scene_defaults: dict[str, str] | None = None,
    output_roots: list[str] | None = None,
    output_denied: list[str] | None = None,
    confined: list[str] | None = None,
    blender: str | None = None,
    timeout_s: float = 300.0,
) -> BlendInfo:
    """Run Blender once on `blendfile`; evaluates `settings`' `eval`s (except `skip`) with `values`.

    `output_roots`/`output_denied`: the farm's folders for jobs' output (this computer's spelling);
    a `confined` setting the scene implies outside them gets the farm's folder (`BlendInfo.redirected`).
    """
    blendfile = check_blendfile(blendfile)
    exe = find_blender(blender)
    request = {"blendfile": str(blendfile), "scene": scene, "jobname": jobname,
               "settings": settings or [], "values": values or {}, "skip": list(skip or ()),
               "scene_defaults": scene_defaults or {}, "output_roots": list(output_roots or ()),
               "output_denied": list(output_denied or ()), "confined": list(confined or ())}
    with tempfile.TemporaryDirectory(prefix="tablao-probe-") as tmp:
        request_path = Path(tmp) / "request.json"
        request_path.write_text(json.dumps(request), encoding="utf-8")
        args = [exe, "-b", "--factory-startup", "-noaudio", "--python-exit-code", "1",
                "--python", str(PROBE_SCRIPT), "--", str(request_path)]
        _log.debug("reading %s: %s", blendfile, args)
        env = dict(os.environ, PYTHONNOUSERSITE="1")
        env.pop("PYTHONPATH", None)
        try:
            proc = await asyncio.create_subprocess_exec(
                *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE, env=env, cwd=tmp)
        except OSError as exc:
            raise BlenderFailed(f"cannot start Blender ({exe}): {exc}") from exc
        try:
            async with asyncio.timeout(timeout_s):
                out, err = await proc.communicate()
        except BaseException:  # timeout or cancellation: never leave Blender running
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(Exception):
                await proc.wait()
            raise
    answer = _answer(out.decode(errors="replace"))
    if answer is None:
        tail = (err or out).decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
        raise BlenderFailed(f"Blender did not read {blendfile} (exit {proc.returncode}): {tail[0]}")
    return _to_info(blendfile, answer)


def _answer(stdout: str) -> dict[str, Any] | None:
    for line in reversed(stdout.splitlines()):
        if line.startswith(MARKER):
            return json.loads(line[len(MARKER):])
    return None


def _to_info(blendfile: Path, answer: dict[str, Any]) -> BlendInfo:
    if not answer.get("ok"):
        kind, message = answer.get("kind"), answer.get("message") or "unknown failure"
        if kind == "eval":
            raise InvalidSetting(answer.get("setting") or "", message)
        if kind in ("open", "scene"):
            raise BadInput(message)
        _log.debug("probe failure: %s", answer.get("traceback"))
        raise BlenderFailed(f"reading {blendfile} in Blender failed: {message}")
    scenes = [SceneInfo.from_json(s) for s in answer["scenes"]]
    scene = next(s for s in scenes if s.name == answer["scene"])
    files = [ExternalFile(Path(f["path"]), f["raw"], bool(f["exists"]), bool(f["absolute"]),
                          bool(f.get("library")), bool(f.get("sequence"))) for f in answer["files"]]
    return BlendInfo(blendfile, scene, scenes, files, dict(answer.get("evaluated") or {}),
                     dict(answer.get("implied") or {}), str(answer.get("blender_version") or ""),
                     SceneScripts.from_json(answer.get("scripts")),
                     {str(k): str(v) for k, v in (answer.get("redirected") or {}).items()},
                     dict(answer.get("needs") or {}))
