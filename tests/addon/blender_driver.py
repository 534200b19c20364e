"""Runs inside Blender (`blender -b --factory-startup --python blender_driver.py -- CONFIG.json`).

Installs the add-on the way a legacy add-on is installed (BLENDER_USER_SCRIPTS/addons/tablao_blender,
a link to the repo's package, set up by the test), enables it, makes a scene with an external
texture, then runs the steps the config lists and prints one line `TABLAO_RESULT <json>`.
"""

import json
import os
import sys
import traceback

import addon_utils
import bpy

with open(sys.argv[sys.argv.index("--") + 1]) as _fh:
    config = json.load(_fh)
out = {"steps": []}


def make_scene(project, texture_exists=True):
    import os

    os.makedirs(os.path.join(project, "textures"), exist_ok=True)
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    scene.cycles.samples = 1
    scene.cycles.use_denoising = False
    scene.render.resolution_x, scene.render.resolution_y = 32, 24
    scene.frame_start, scene.frame_end = config.get("frame_start", 1), config.get("frame_end", 3)
    scene.render.image_settings.file_format = "PNG"
    tex_path = os.path.join(project, "textures", "checker.png")
    img = bpy.data.images.new("checker", 8, 8)
    img.generated_type = "COLOR_GRID"
    img.filepath_raw = tex_path
    img.file_format = "PNG"
    img.save()
    mat = bpy.data.materials.new("textured")
    mat.use_nodes = True
    node = mat.node_tree.nodes.new("ShaderNodeTexImage")
    node.image = img
    bsdf = mat.node_tree.nodes["Principled BSDF"]
    mat.node_tree.links.new(node.outputs["Color"], bsdf.inputs["Base Color"])
    bpy.data.objects["Cube"].data.materials.append(mat)
    blend = os.path.join(project, "shot.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend)
    bpy.ops.file.make_paths_relative()
    bpy.ops.wm.save_mainfile()
    if not texture_exists:
        os.remove(tex_path)
    return blend


def _check_connection(ctx, rec, kw):
    from tablao_blender import operators
    from tablao_blender.state import STATE

    rec["text"] = operators.check_connection(ctx)
    rec["ok"] = STATE.connection_ok


def _refresh(ctx, rec, kw):
    from tablao_blender import operators
    from tablao_blender.state import STATE

    rec["job_types"] = operators.refresh_job_types(ctx)
    rec["tags"] = len(STATE.worker_tags)
    rec["sites"] = [s["name"] for s in STATE.sites]


def _configure(ctx, rec, kw):
    props = ctx.scene.tablao
    props.job_type = kw.get("job_type", "simple-blender-render")
    props.job_name = kw.get("job_name", "{blend} {scene}")
    props.priority = kw.get("priority", 50)
    props.submit_paused = kw.get("paused", False)
    props.after_job = kw.get("after_job", "")
    props.preview_first = kw.get("preview_first", True)
    props.pause_on_preview_failure = kw.get("pause_on_preview_failure", False)
    if "site" in kw:  # at a hub: the Site field
        props.site = kw["site"]
    settings = ctx.window_manager.tablao_job_settings
    for key, value in kw.get("settings", {}).items():
        setattr(settings, key, value)


def _add_scripts(ctx, rec, kw):
    """What a rig brings: a UI script run on load, a Python driver, a simple one."""
    text = bpy.data.texts.new("rig_ui.py")
    text.write("print('rig ui')")
    text.use_module = True
    cube = bpy.data.objects["Cube"]
    for index, expression in ((0, "__import__('os').getpid() % 2"), (1, "frame * 2")):
        fcurve = cube.driver_add("location", index)
        fcurve.driver.type = "SCRIPTED"
        fcurve.driver.expression = expression
    bpy.ops.wm.save_mainfile()


def _preflight(ctx, rec, kw):
    from tablao_blender import operators
    from tablao_blender.state import STATE

    rec["report"] = operators.run_preflight(ctx).to_json()
    rec["lines"] = [t for _, t in STATE.report.lines()]


def _submit(ctx, rec, kw):
    from tablao_blender.state import STATE

    STATE.message, STATE.job_id = "", ""
    try:
        rec["result"] = sorted(
            bpy.ops.tablao.submit_job("EXEC_DEFAULT", allow_missing=kw.get("allow_missing", False))
        )
    except RuntimeError as exc:  # an operator that reports an ERROR raises when called from a script
        rec["result"], rec["raised"] = ["CANCELLED"], str(exc)
    rec["message"] = STATE.message
    rec["job_id"] = STATE.job_id


def _stale_etag(ctx, rec, kw):
    from tablao_blender.state import STATE

    jt = STATE.job_types[ctx.scene.tablao.job_type]
    rec["before"] = jt.etag
    jt.etag = "stale-etag"


def _etag(ctx, rec, kw):
    from tablao_blender.state import STATE

    rec["etag"] = STATE.job_types[ctx.scene.tablao.job_type].etag


def _poll(ctx, rec, kw):
    from tablao_blender import operators

    job = operators.poll_job_once(ctx)
    rec["status"] = str(job.status)
    rec["steps_total"] = job.steps_total


def _submit_cancelled(ctx, rec, kw):
    """What Esc does: the cancel event set while packing/uploading."""
    from tablao_blender import operators
    from tablao_blender.preferences import manager_for
    from tablao_blender.submission import Submission

    sub = Submission(manager_for(ctx), operators.build_request(ctx))
    report = sub.progress
    phases = kw.get("phases", ["packing", "uploading"])

    def progress(p):
        report(p)
        if p.phase in phases:
            sub.cancel.set()

    sub.progress = progress
    sub.start()
    sub.thread.join(60)
    seen = []
    while not sub.messages.empty():
        kind, payload = sub.messages.get_nowait()
        seen.append(payload.phase if kind == "progress" else kind)
        if kind != "progress":
            rec["outcome"], rec["message"] = kind, operators.explain(payload)
    rec["phases"] = sorted(set(seen))


def _follow(ctx, rec, kw):
    from tablao_blender import operators
    from tablao_blender.state import STATE

    STATE.job_id = kw["job_id"]
    job = operators.poll_job_once(ctx)
    rec["status"] = str(job.status)
    from tablao_blender.eta_words import eta_line

    rec["eta"] = job.eta.to_json() if job.eta is not None else None
    rec["eta_line"] = eta_line(job)
    rec["thumbnail"] = STATE.thumbnail
    from tablao_blender.operators import _previews

    rec["thumbnail_loaded"] = bool(STATE.thumbnail) and STATE.thumbnail in _previews


def _open_dashboard(ctx, rec, kw):
    """The panel's "Open in Dashboard" on the followed job."""
    from tablao_blender.state import STATE

    bpy.context.preferences.addons["tablao_blender"].preferences.dashboard_program = kw["program"]
    STATE.job_id, STATE.message = kw["job_id"], ""
    try:
        rec["result"] = sorted(bpy.ops.tablao.open_dashboard("EXEC_DEFAULT"))
    except RuntimeError as exc:  # an operator that reports an ERROR raises when called from a script
        rec["result"], rec["raised"] = ["CANCELLED"], str(exc)
    rec["message"] = STATE.message


def _settings_preview(ctx, rec, kw):
    from tablao_blender import job_types
    from tablao_blender.state import STATE

    jt = STATE.job_types[ctx.scene.tablao.job_type]
    rec["settings"] = job_types.collect_settings(jt, ctx.window_manager.tablao_job_settings, ctx, "J")


def _find(ctx, rec, kw):
    """The "Find Automatically" button: the operator returns at once, a timer applies the outcome."""
    from tablao_blender import finder

    prefs = ctx.preferences.addons["tablao_blender"].preferences
    rec["result"] = sorted(bpy.ops.tablao.find_managers("EXEC_DEFAULT", targets=kw["targets"]))
    rec["url_while_searching"] = prefs.manager_url
    rec["timer_registered"] = bpy.app.timers.is_registered(finder.poll)
    rec["searching"] = finder.FINDER.search is not None
    rec["can_start_another"] = bpy.ops.tablao.find_managers.poll()
    # Background Blender runs no timers: wait for the thread, then run the timer's function by hand.
    finder.FINDER.search.done.wait(30)
    rec["poll_again_in"] = finder.poll()
    if bpy.app.timers.is_registered(finder.poll):
        bpy.app.timers.unregister(finder.poll)
    rec["message"], rec["ok"], rec["hint"] = finder.FINDER.message, finder.FINDER.ok, finder.FINDER.hint
    rec["found"] = [f.label for f in finder.FINDER.found]
    rec["urls"] = [f.url for f in finder.FINDER.found]
    rec["url"] = prefs.manager_url


def _gpu_scene(ctx, rec, kw):
    """An artist's GPU render: Cycles on the GPU with CUDA chosen in their preferences, and a peak
    memory a pipeline recorded on the scene."""
    ctx.scene.cycles.device = "GPU"
    ctx.preferences.addons["cycles"].preferences.compute_device_type = kw.get("backend", "CUDA")
    if "peak" in kw:
        ctx.scene["tablao_render_peak_memory"] = float(kw["peak"])
    bpy.ops.wm.save_mainfile()
    rec["version"] = list(bpy.data.version)


def _pick(ctx, rec, kw):
    from tablao_blender import finder

    prefs = ctx.preferences.addons["tablao_blender"].preferences
    rec["result"] = sorted(bpy.ops.tablao.use_manager(url=kw["url"]))
    rec["url"], rec["message"] = prefs.manager_url, finder.FINDER.message


def _add_texture(ctx, rec, kw):
    """What an artist does between two submissions: a second image texture on the cube, saved."""
    project = os.path.dirname(bpy.data.filepath)
    path = os.path.join(project, "textures", "added.png")
    img = bpy.data.images.new("added", 8, 8)
    img.filepath_raw = path
    img.file_format = "PNG"
    img.save()
    mat = bpy.data.materials["textured"]
    mat.node_tree.nodes.new("ShaderNodeTexImage").image = img
    bpy.ops.file.make_paths_relative()
    bpy.ops.wm.save_mainfile()
    rec["path"] = path


def _explain(ctx, rec, kw):
    """The words an artist gets for a failure the add-on did not foresee: a file gone, a bug."""
    from tablao_blender import operators

    for name, fail in (("gone", lambda: os.stat(kw["missing"])), ("bug", lambda: {}["key"])):
        try:
            fail()
        except Exception as exc:  # noqa: BLE001 - the very thing explained
            rec[name] = operators.explain(exc)


#: What each step of the test's script does (steps run in order, each adding its record to `out`).
STEPS = {
    "check_connection": _check_connection,
    "refresh": _refresh,
    "configure": _configure,
    "add_scripts": _add_scripts,
    "preflight": _preflight,
    "submit": _submit,
    "stale_etag": _stale_etag,
    "etag": _etag,
    "poll": _poll,
    "submit_cancelled": _submit_cancelled,
    "follow": _follow,
    "open_dashboard": _open_dashboard,
    "settings_preview": _settings_preview,
    "find": _find,
    "pick": _pick,
    "gpu_scene": _gpu_scene,
    "explain": _explain,
    "add_texture": _add_texture,
}


def step(name, **kw):
    rec = {"step": name}
    STEPS[name](bpy.context, rec, kw)
    out["steps"].append(rec)


try:
    addon_utils.enable("tablao_blender", default_set=True, handle_error=None)
    prefs = bpy.context.preferences.addons["tablao_blender"].preferences
    prefs.manager_url = config["url"]
    prefs.access_token = config.get("token", "")
    out["blend"] = make_scene(config["project"], config.get("texture_exists", True))
    for s in config["steps"]:
        step(s[0], **(s[1] if len(s) > 1 else {}))
    addon_utils.disable("tablao_blender", default_set=True)
    out["unregistered"] = not hasattr(bpy.types.Scene, "tablao")
except Exception:
    out["error"] = traceback.format_exc()
print("TABLAO_RESULT " + json.dumps(out, default=str), flush=True)
