"""Screenshot of the add-on panel: `python -m addon.screenshot` (needs `blender` and an X display,
e.g. `Xvfb :98 & DISPLAY=:98 python -m addon.screenshot`). Writes docs/screenshots/addon-panel.png.

Starts a real Manager in this process, makes a scene with an external texture and a rig's script
and Python driver, then runs Blender's GUI with the add-on installed: job types fetched, the output
folder left empty (the scene's, /tmp, is not one the farm writes to, so the shared storage's is
used), one job submitted and followed, the pre-flight report run (the scripts that will not run,
where the output goes), the Output properties shown full screen and captured.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots" / "addon-panel.png"

_GUI_SCRIPT = r"""
import json, sys, bpy, addon_utils
cfg = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())

def stage1():
    addon_utils.enable("tablao_blender", default_set=True)
    prefs = bpy.context.preferences.addons["tablao_blender"].preferences
    prefs.manager_url = cfg["url"]
    from tablao_blender import operators
    from tablao_blender.state import STATE
    ctx = bpy.context
    operators.check_connection(ctx)
    operators.refresh_job_types(ctx)
    ctx.scene.tablao.job_type = "simple-blender-render"
    ctx.scene.tablao.job_name = "{blend} lighting"
    ctx.window_manager.tablao_job_settings.chunk_size = 5
    bpy.ops.tablao.submit_job("EXEC_DEFAULT")
    operators.poll_job_once(ctx)
    operators.run_preflight(ctx)
    window = ctx.window_manager.windows[0]
    area = max((a for a in window.screen.areas if a.type == "PROPERTIES"), key=lambda a: a.height)
    area.spaces.active.context = "OUTPUT"
    with ctx.temp_override(window=window, area=area, region=area.regions[-1]):
        bpy.ops.screen.screen_full_area()
    return None

def stage2():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "PROPERTIES")
    # The add-on's panel comes after Blender's own Output panels; for the picture only, hide those.
    own = [p for p in bpy.types.Panel.__subclasses__()
           if getattr(p, "bl_context", "") == "output" and not p.__name__.startswith("TABLAO")]
    for panel in sorted(own, key=lambda p: 0 if getattr(p, "bl_parent_id", "") else 1):
        try:
            bpy.utils.unregister_class(panel)
        except RuntimeError:
            pass
    area.tag_redraw()
    bpy.app.timers.register(stage3, first_interval=1.0)

def stage3():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "PROPERTIES")
    with bpy.context.temp_override(window=window, area=area):
        bpy.ops.screen.screenshot_area(filepath=cfg["out"])
    bpy.ops.wm.quit_blender()

bpy.app.timers.register(stage1, first_interval=1.0)
bpy.app.timers.register(stage2, first_interval=4.0)
"""


async def main() -> int:
    sys.path.insert(0, str(REPO))
    from tests.addon.conftest import ADDON_PKG, DRIVER
    from tests.conftest import RunningManager, make_config

    with tempfile.TemporaryDirectory(prefix="tablao-shot-") as tmp_name:
        tmp = Path(tmp_name)
        manager = await RunningManager(
            make_config(tmp, shaman_enabled=True, manager_name="Studio Farm")
        ).start()
        try:
            scripts = tmp / "scripts" / "addons"
            scripts.mkdir(parents=True)
            (scripts / "tablao_blender").symlink_to(ADDON_PKG)
            env = {
                **os.environ,
                "BLENDER_USER_SCRIPTS": str(tmp / "scripts"),
                "BLENDER_USER_CONFIG": str(tmp / "bcfg"),
            }
            project = tmp / "work" / "film"
            cfg = tmp / "make.json"
            steps = [["add_scripts"]]  # a rig's script and Python driver: the pre-flight names them
            cfg.write_text(json.dumps({"url": manager.url, "project": str(project), "steps": steps}))
            proc = await asyncio.create_subprocess_exec(
                "blender",
                "-b",
                "--factory-startup",
                "--python",
                str(DRIVER),
                "--",
                str(cfg),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
            )
            await proc.wait()
            gui = tmp / "gui.py"
            gui.write_text(_GUI_SCRIPT)
            OUT.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(
                json.dumps({"url": manager.url, "out": str(OUT)})
            )
            # -y: on the artist's own computer the file's scripts run (the rig is theirs); without it
            # Blender 3.4's "auto-run disabled" popup covers the window and full-screening crashes it.
            proc = await asyncio.create_subprocess_exec(
                "blender",
                "--factory-startup",
                "-y",
                str(project / "shot.blend"),
                "--python",
                str(gui),
                "--",
                str(cfg),
                env=env,
            )
            await asyncio.wait_for(proc.wait(), 120)
        finally:
            await manager.stop()
    print(OUT if OUT.exists() else "no screenshot written")
    return 0 if OUT.exists() else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
