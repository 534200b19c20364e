"""Screenshot of the add-on preferences after "Find Automatically" found two Managers:
`python -m addon.screenshot_prefs` (needs `blender` and an X display, e.g. `Xvfb :98 & DISPLAY=:98 ...`).
Writes docs/screenshots/addon-find-managers.png.

Starts two real Managers in this process, each advertised with the Manager's own SSDP advertiser on
127.0.0.1 only, then runs Blender's GUI with the add-on installed, shows its preferences and clicks
"Find Automatically" (searching those two addresses instead of the multicast group).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "screenshots" / "addon-find-managers.png"

_GUI_SCRIPT = r"""
import json, sys, bpy, addon_utils
cfg = json.loads(open(sys.argv[sys.argv.index("--") + 1]).read())

def stage1():
    addon_utils.enable("tablao_blender", default_set=True)
    prefs = bpy.context.preferences.addons["tablao_blender"].preferences
    prefs.manager_url = "http://localhost:8080/"
    window = bpy.context.window_manager.windows[0]
    area = max(window.screen.areas, key=lambda a: a.width * a.height)
    area.type = "PREFERENCES"
    bpy.context.preferences.active_section = "ADDONS"
    bpy.context.window_manager.addon_search = "Tablao"
    mod = next(m for m in addon_utils.modules() if m.__name__ == "tablao_blender")
    addon_utils.module_bl_info(mod)["show_expanded"] = True
    window.cursor_warp(window.width - 5, 5)  # no tooltip over the picture
    bpy.ops.tablao.find_managers(targets=cfg["targets"])
    return None

def stage2():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "PREFERENCES")
    with bpy.context.temp_override(window=window, area=area):
        bpy.ops.screen.screenshot_area(filepath=cfg["out"])
    bpy.ops.wm.quit_blender()

bpy.app.timers.register(stage1, first_interval=1.0)
bpy.app.timers.register(stage2, first_interval=9.0)
"""


async def main() -> int:
    sys.path.insert(0, str(REPO))
    from app.manager.lan.discovery import SsdpAdvertiser
    from tests.addon.conftest import ADDON_PKG
    from tests.conftest import RunningManager, make_config

    with tempfile.TemporaryDirectory(prefix="tablao-shot-") as tmp_name:
        tmp = Path(tmp_name)
        managers, tasks, targets = [], [], []
        try:
            for name in ("Studio Farm", "Night Farm"):
                manager = await RunningManager(make_config(tmp / name.replace(" ", ""), manager_name=name)).start()
                managers.append(manager)
                advertiser = SsdpAdvertiser(lambda m=manager: m.service.port, bind=("127.0.0.1", 0), multicast=False)
                tasks.append(asyncio.create_task(advertiser.run()))
                while advertiser.address is None:
                    await asyncio.sleep(0.01)
                targets.append(f"127.0.0.1:{advertiser.address[1]}")
            scripts = tmp / "scripts" / "addons"
            scripts.mkdir(parents=True)
            (scripts / "tablao_blender").symlink_to(ADDON_PKG)
            env = {**os.environ, "BLENDER_USER_SCRIPTS": str(tmp / "scripts"), "BLENDER_USER_CONFIG": str(tmp / "bcfg")}
            gui = tmp / "gui.py"
            gui.write_text(_GUI_SCRIPT)
            cfg = tmp / "cfg.json"
            OUT.parent.mkdir(parents=True, exist_ok=True)
            cfg.write_text(json.dumps({"targets": ",".join(targets), "out": str(OUT)}))
            empty = tmp / "empty.blend"  # opening a file keeps Blender's splash screen away
            proc = await asyncio.create_subprocess_exec(
                "blender", "-b", "--factory-startup", "--python-expr",
                f"import bpy; bpy.ops.wm.save_as_mainfile(filepath={str(empty)!r})", env=env,
                stdout=asyncio.subprocess.DEVNULL,
            )
            await proc.wait()
            proc = await asyncio.create_subprocess_exec(
                "blender", "--factory-startup", str(empty), "--python", str(gui), "--", str(cfg), env=env
            )
            await asyncio.wait_for(proc.wait(), 120)
        finally:
            for task in tasks:
                task.cancel()
            for manager in managers:
                await manager.stop()
    print(OUT if OUT.exists() else "no screenshot written")
    return 0 if OUT.exists() else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
