"""Runs INSIDE Blender (`blender -b --factory-startup --python blender_probe.py -- INPUT.json`).

Opens the blend file named in the input, reads its scenes and external files, evaluates a job
type's `eval` settings with the names Flamenco's add-on offers (`bpy`, `C`, `jobname`, `Path`,
`abspath`, `last_n_dir_parts`, `settings`), reads what the scene needs of a worker (`scene_needs.py`)
and prints ONE line `TABLAO_PROBE {json}` on stdout.

Self-contained on purpose: only the standard library, `bpy` (Blender 3.x and 4.x Python) and
`scene_policy.py` and `scene_needs.py` beside it (loaded by path), no `app` imports, so the Blender
add-on can ship a copy. `eval_settings` is the reusable part.

Input JSON: {"blendfile": str, "scene": str | null, "jobname": str,
             "settings": [{"key", "type", "eval"}...], "values": {key: value}, "skip": [keys],
             "scene_defaults": {setting key: scene info field}, (settings a scene implies when unset)
             "output_roots": [folders], "output_denied": [folders], "confined": [setting keys]}
             (the farm's output roots as this computer spells them; a confined setting the scene
             implies outside them becomes `<first root>/renders`, see `scene_policy.farm_folder`)
Output JSON: {"ok": true, "blendfile", "scene", "scenes": [...], "files": [...],
              "implied": {key: value}, "evaluated": {key: value}, "redirected": {key: scene's folder},
              "scripts": {"auto_run": {"count", "names"}, "drivers": {"count", "names"}},
              "needs": {the job's `requirements`: engine, device, blender_version, ...}}
             or {"ok": false, "kind": "open"|"scene"|"eval", "setting", "message"}.
"""

import json
import os
import re
import sys
import traceback
from pathlib import Path

MARKER = "TABLAO_PROBE "


class _Settings:
    """Attribute access to the job settings, as Flamenco's add-on gives `settings`."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __getattr__(self, name):  # an unset setting reads as None instead of failing
        return None


class _Context:
    """`C`: bpy.context, except that `C.scene` is the scene being submitted."""

    def __init__(self, scene):
        self._scene = scene

    def __getattr__(self, name):
        import bpy

        if name == "scene":
            return self._scene
        return getattr(bpy.context, name)


def abspath(path):
    """Flamenco's `abspath`: a Blender path (`//` relative to the blend file) made absolute."""
    import bpy

    return Path(bpy.path.abspath(str(path)))


def last_n_dir_parts(n, filepath=None):
    """Flamenco's `last_n_dir_parts`: the last `n` folder names of the blend file's folder."""
    import bpy

    if filepath is None:
        filepath = bpy.data.filepath
    n = int(n or 0)
    if n <= 0:
        return Path()
    return Path(*Path(filepath).parent.parts[-n:])


def _coerce(setting_type, value):
    if setting_type == "string":
        return "" if value is None else str(value)
    if setting_type == "int32":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    if setting_type == "float":
        return float(value)
    if setting_type == "bool":
        return bool(value)
    return value


class EvalFailed(Exception):
    def __init__(self, key, message):
        super().__init__(message)
        self.key = key


def eval_settings(settings, values, jobname, scene, skip=()):
    """Evaluate the `eval` of each setting in order (later ones see earlier results); returns {key: value}."""
    import bpy

    current = dict(values)
    evaluated = {}
    for setting in settings:
        expr = setting.get("eval")
        key = setting["key"]
        if not expr or key in skip:
            continue
        names = {
            "bpy": bpy,
            "C": _Context(scene),
            "jobname": jobname,
            "Path": Path,
            "abspath": abspath,
            "last_n_dir_parts": last_n_dir_parts,
            "settings": _Settings(current),
        }
        try:
            value = _coerce(setting.get("type", "string"), eval(expr, names, {}))  # noqa: S307 - the job type's own code
        except Exception as exc:  # noqa: BLE001 - any failure of the job type's expression
            raise EvalFailed(key, f"{type(exc).__name__}: {exc}") from exc
        current[key] = value
        evaluated[key] = value
    return evaluated


def _scene_info(scene):
    import bpy

    render = scene.render
    raw_output = render.filepath
    output = bpy.path.abspath(raw_output)
    output_dir = output if output.endswith(("/", "\\")) or not output else os.path.dirname(output)
    return {
        "name": scene.name,
        "frame_start": scene.frame_start,
        "frame_end": scene.frame_end,
        "frame_step": scene.frame_step,
        "fps": render.fps / (render.fps_base or 1.0),
        "file_format": render.image_settings.file_format,
        "file_extension": render.file_extension,
        "camera": scene.camera.name if scene.camera else "",
        "engine": render.engine,
        "resolution": [render.resolution_x, render.resolution_y, render.resolution_percentage],
        "output_path": output,
        "output_path_raw": raw_output,
        "output_dir": os.path.normpath(output_dir) if output_dir else "",
    }


_FRAME_DIGITS = re.compile(r"\d+(?=\D*$)")


def _expand(path, image):
    """Every file an external path stands for: UDIM tiles and image sequences expand to several."""
    import glob

    if "<UDIM>" in path or "<UVTILE>" in path:
        pattern = glob.escape(path).replace("<UDIM>", "[0-9][0-9][0-9][0-9]")
        pattern = pattern.replace("<UVTILE>", "u*_v*")
        return sorted(glob.glob(pattern)) or [path]
    if image is not None and image.source == "SEQUENCE":
        folder, name = os.path.split(path)
        match = _FRAME_DIGITS.search(name)
        if match:
            prefix, suffix = name[: match.start()], name[match.end():]
            regex = re.compile(re.escape(prefix) + r"\d+" + re.escape(suffix) + "$")
            found = sorted(os.path.join(folder, n) for n in os.listdir(folder or ".") if regex.match(n)) \
                if os.path.isdir(folder or ".") else []
            return found or [path]
    return [path]


def _external_files():
    """The blend file's external files: images, libraries, sounds, fonts, movies, caches (not packed ones)."""
    import bpy

    images = {bpy.path.abspath(img.filepath): img for img in bpy.data.images if img.filepath}
    libraries = {os.path.normpath(bpy.path.abspath(lib.filepath)) for lib in bpy.data.libraries}
    raw = bpy.utils.blend_paths(absolute=False, packed=False, local=False)
    absolute = bpy.utils.blend_paths(absolute=True, packed=False, local=False)
    files, seen = [], set()
    for original, path in zip(raw, absolute, strict=True):
        for one in _expand(path, images.get(path)):
            one = os.path.normpath(one)
            if one in seen:
                continue
            seen.add(one)
            files.append({
                "path": one,
                "raw": original,
                "exists": os.path.isfile(one),
                "absolute": not original.startswith("//"),
                "library": one in libraries,
                "sequence": one != os.path.normpath(path),
            })
    return files


def probe(request):
    import bpy

    blendfile = request["blendfile"]
    try:
        bpy.ops.wm.open_mainfile(filepath=blendfile, load_ui=False)
    except Exception as exc:  # noqa: BLE001 - Blender raises RuntimeError with its own message
        # Blender's message repeats the path: "Error: Loading '...' failed: ...: Missing DNA block".
        text = str(exc).strip()
        message = text.splitlines()[-1].rsplit(": ", 1)[-1] if text else type(exc).__name__
        return {"ok": False, "kind": "open", "message": f"Blender cannot open {blendfile}: {message}"}
    if os.path.normpath(bpy.data.filepath) != os.path.normpath(blendfile):
        return {"ok": False, "kind": "open", "message": f"Blender cannot open {blendfile}"}
    scenes = list(bpy.data.scenes)
    wanted = request.get("scene")
    if wanted:
        scene = bpy.data.scenes.get(wanted)
        if scene is None:
            names = ", ".join(s.name for s in scenes)
            return {"ok": False, "kind": "scene", "message": f"the file has no scene {wanted!r} (it has {names})"}
    else:
        scene = bpy.context.scene or scenes[0]
    info = _scene_info(scene)
    values = dict(request.get("values") or {})
    implied = {}
    for key, field in (request.get("scene_defaults") or {}).items():
        if values.get(key) in (None, "") and info.get(field):
            implied[key] = values[key] = info[field]
    policy = _scene_policy()
    redirected = _confine(policy, request, values, implied)
    try:
        evaluated = eval_settings(request.get("settings") or [], values,
                                  request.get("jobname", ""), scene, set(request.get("skip") or ()))
    except EvalFailed as exc:
        return {"ok": False, "kind": "eval", "setting": exc.key,
                "message": f"setting {exc.key!r}: its expression failed in Blender: {exc}"}
    return {
        "ok": True,
        "blendfile": bpy.data.filepath,
        "blender_version": bpy.app.version_string,
        "scene": scene.name,
        "scenes": [_scene_info(s) for s in scenes],
        "files": _external_files(),
        "implied": implied,
        "evaluated": evaluated,
        "redirected": redirected,
        "scripts": policy.scan_scripts(),
        "needs": _sibling("scene_needs").read_needs(scene),
    }


def _scene_policy():
    """`scene_policy.py` beside this file, loaded by its path (no `app` package inside Blender)."""
    return _sibling("scene_policy")


def _sibling(name):
    """The module `name`.py beside this file, loaded by its path."""
    import importlib.util

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"tablao_{name}", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _confine(policy, request, values, implied):
    """Output folders the scene implies but the farm does not allow go to its folder instead.

    Only for the `confined` settings the user left unset; returns {key: the scene's folder}."""
    roots, denied = request.get("output_roots") or [], request.get("output_denied") or []
    redirected = {}
    farm = policy.farm_folder(roots, denied) if roots else ""
    for key in request.get("confined") or []:
        if not farm or (values.get(key) not in (None, "") and key not in implied):
            continue  # no policy (a Flamenco Manager), or the user's own value
        scene_folder = implied.get(key, "")
        if not policy.inside(scene_folder, roots, denied):
            implied[key] = values[key] = farm
            redirected[key] = scene_folder
    return redirected


def main(argv):
    args = argv[argv.index("--") + 1:] if "--" in argv else []
    try:
        with open(args[0], encoding="utf-8") as f:
            request = json.load(f)
        answer = probe(request)
    except Exception as exc:  # noqa: BLE001 - report anything as one line, never a traceback only
        answer = {"ok": False, "kind": "internal", "message": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    sys.stdout.write(MARKER + json.dumps(answer, default=str) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv)
