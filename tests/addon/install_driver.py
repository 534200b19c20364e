"""Runs inside Blender (`blender -b --factory-startup --python install_driver.py -- CONFIG.json`).

Installs an add-on zip the way a user does (Preferences ▸ Add-ons ▸ Install…, into the private
BLENDER_USER_SCRIPTS the test sets), enables it, reads its Manager URL preference and checks the
connection with it; prints one line `TABLAO_RESULT <json>`.
"""

import json
import sys
import traceback

import addon_utils
import bpy

with open(sys.argv[sys.argv.index("--") + 1]) as _fh:
    config = json.load(_fh)
out = {}
try:
    out["install"] = sorted(bpy.ops.preferences.addon_install(filepath=config["zip"], overwrite=True))
    addon_utils.enable("tablao_blender", default_set=True, handle_error=None)
    import tablao_blender
    from tablao_blender import operators
    from tablao_blender.state import STATE

    out["installed_at"] = tablao_blender.__file__
    out["enabled"] = "tablao_blender" in bpy.context.preferences.addons
    out["manager_url"] = bpy.context.preferences.addons["tablao_blender"].preferences.manager_url
    out["check"] = operators.check_connection(bpy.context)
    out["ok"] = STATE.connection_ok
except Exception:
    out["error"] = traceback.format_exc()
print("TABLAO_RESULT " + json.dumps(out), flush=True)
