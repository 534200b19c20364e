"""Runs inside Blender's GUI (under Xvfb): submits with the modal operator, as a click on Submit does.

`blender --factory-startup FILE.blend --python blender_gui_driver.py -- CONFIG.json`; writes the
outcome as JSON to the config's `out` path and quits.
"""

import json
import sys
import traceback

import addon_utils
import bpy

with open(sys.argv[sys.argv.index("--") + 1]) as _fh:
    cfg = json.load(_fh)
seen = {"progress": [], "ticks": 0}


def finish(**out):
    out.update(seen)
    with open(cfg["out"], "w") as fh:
        json.dump(out, fh, default=str)
    bpy.ops.wm.quit_blender()


def start():
    try:
        addon_utils.enable("tablao_blender", default_set=True, handle_error=None)
        bpy.context.preferences.addons["tablao_blender"].preferences.manager_url = cfg["url"]
        from tablao_blender import operators, submission

        report = submission.Submission.progress

        def record(self, progress):  # what the thread sends the modal operator's queue
            seen["progress"].append(progress.phase)
            report(self, progress)

        submission.Submission.progress = record

        ctx = bpy.context
        operators.refresh_job_types(ctx)
        ctx.scene.tablao.job_type = "simple-blender-render"
        ctx.scene.tablao.job_name = "{blend} modal"
        ctx.window_manager.tablao_job_settings.render_output_root = cfg["render"]
        window = ctx.window_manager.windows[0]
        area = next(a for a in window.screen.areas if a.type == "PROPERTIES")
        with ctx.temp_override(window=window, area=area):
            seen["invoke"] = sorted(bpy.ops.tablao.submit_job("INVOKE_DEFAULT"))
        bpy.app.timers.register(watch, first_interval=0.05)
    except Exception:
        finish(error=traceback.format_exc())


def watch():
    from tablao_blender.state import STATE

    seen["ticks"] += 1
    if STATE.submission is None or seen["ticks"] > 1200:
        finish(message=STATE.message, job_id=STATE.job_id, running=STATE.submission is not None)
        return None
    return 0.05


bpy.app.timers.register(start, first_interval=0.5)
