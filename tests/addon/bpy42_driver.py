"""Runs in a Python with the `bpy` 4.2 module (tests/addon/test_bpy42_extension.py): installs the extension
zip the way Blender 4.2 does (Get Extensions › Install from Disk), enables it, finds the Manager with
"Find Automatically"'s search, checks the connection and fetches the job types; prints `TABLAO_RESULT <json>`.
Blender as a module runs no timers, so the finder's outcome is applied by calling what its timer calls."""

import importlib
import json
import sys
import traceback

import bpy

with open(sys.argv[1]) as _fh:
    config = json.load(_fh)
out = {"version": bpy.app.version_string}
try:
    out["install"] = sorted(bpy.ops.extensions.package_install_files(
        filepath=config["zip"], repo="user_default", enable_on_install=True))
    module = "bl_ext.user_default.tablao"
    out["enabled"] = module in bpy.context.preferences.addons
    out["bat"] = importlib.import_module(module + ".packing").ensure_bat().__file__
    finder = importlib.import_module(module + ".finder")
    operators = importlib.import_module(module + ".operators")
    prefs = bpy.context.preferences.addons[module].preferences
    prefs.manager_url = "http://farm.invalid:8080/"
    search = finder.start(prefs, finder.parse_targets(config["targets"]))
    search.done.wait(30)
    out["message"] = finder.apply(prefs, search)
    out["url"] = prefs.manager_url
    out["connection"] = operators.check_connection(bpy.context)
    out["job_types"] = operators.refresh_job_types(bpy.context)
    bpy.ops.preferences.addon_disable(module=module)
    out["unregistered"] = not hasattr(bpy.types.Scene, "tablao")
except Exception:
    out["error"] = traceback.format_exc()
print("TABLAO_RESULT " + json.dumps(out), flush=True)
